package state

import (
	"fmt"
	"path/filepath"
	"testing"
)

// The benchmarks sync as production does, except where they build data.

func openBench(b *testing.B, noSync bool) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "state.db"), &Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkApply writes 256 new records per transaction.
func BenchmarkApply(b *testing.B) {
	db := openBench(b, false)
	changes := make([]Change, 256)
	i := 0
	for b.Loop() {
		for j := range changes {
			changes[j] = Change{Path: fmt.Sprintf("d%d/f%d", i%100, i), Record: Record{Size: int64(i), ModTime: t0, Fetched: t0}}
			i++
		}
		if err := db.Job("j").Apply(changes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/record")
}

// BenchmarkBatcher10k adds 10,000 records from 8 goroutines through a
// Batcher with the default settings, as a run fetching 10,000 small
// files would.
func BenchmarkBatcher10k(b *testing.B) {
	db := openBench(b, false)
	n := 0
	before := db.commits.Load()
	for b.Loop() {
		bt := db.Job(fmt.Sprint("j", n)).NewBatcher(0, 0)
		n++
		addConcurrently(b, bt, 8, 10000)
		if err := bt.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(db.commits.Load()-before)/float64(n), "commits/op")
}

// BenchmarkChildren lists a directory of 1000 entries in a job of 1000
// and of 200,000 records: the cost must not grow with the rest of the tree.
func BenchmarkChildren(b *testing.B) {
	const perDir = 1000
	for _, dirs := range []int{1, 200} {
		b.Run(fmt.Sprintf("records=%d", dirs*perDir), func(b *testing.B) {
			db := openBench(b, true)
			for d := range dirs {
				changes := make([]Change, 0, perDir)
				for f := range perDir {
					changes = append(changes, Change{Path: fmt.Sprintf("dir%03d/file%04d", d, f), Record: Record{Size: int64(f), ModTime: t0}})
				}
				if err := db.Job("j").Apply(changes); err != nil {
					b.Fatal(err)
				}
			}
			dir := fmt.Sprintf("dir%03d", dirs/2)
			for b.Loop() {
				m, err := db.Job("j").Children(dir)
				if err != nil {
					b.Fatal(err)
				}
				if len(m) != perDir {
					b.Fatalf("%d children", len(m))
				}
			}
		})
	}
}
