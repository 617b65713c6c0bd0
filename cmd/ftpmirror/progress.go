package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ftpmirror/ftpmirror/mirror"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressDisplay draws mirror.Progress as a bar on a terminal: bytes
// done of the bytes known so far (the walk keeps adding), files, rate
// and ETA.
type progressDisplay struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(p *mirror.Progress, w io.Writer) *progressDisplay {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
	d := &progressDisplay{done: make(chan struct{})}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-d.done:
				bar.Finish()
				return
			case <-tick.C:
				total := p.BytesTotal.Load()
				if total > 0 {
					bar.ChangeMax64(total)
				}
				bar.Describe(fmt.Sprintf("%d/%d files, %d dirs", p.FilesDone.Load(), p.FilesTotal.Load(), p.Listed.Load()))
				bar.Set64(p.BytesDone.Load())
			}
		}
	}()
	return d
}

func (d *progressDisplay) stop() {
	close(d.done)
	d.wg.Wait()
}

// clearLine clears the terminal line before each log line, so that log
// lines do not run into the progress bar, which redraws itself below.
type clearLine struct{ w io.Writer }

func (c clearLine) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, "\r\x1b[K"); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
