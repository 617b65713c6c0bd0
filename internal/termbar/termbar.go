// Package termbar draws a run's progress as a bar on a terminal, for
// `ftpmirror sync` (the command decides when: a terminal, no -json, no
// -quiet).
package termbar

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

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Bar draws a mirror.Progress as a bar on a terminal: bytes done of the
// bytes known so far (the walk keeps adding), files, rate and ETA.
type Bar struct {
	done chan struct{}
	wg   sync.WaitGroup
}

// Start draws p on w, five times a second, until Stop.
func Start(p *mirror.Progress, w io.Writer) *Bar {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
	d := &Bar{done: make(chan struct{})}
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

// Stop draws the bar a last time, clears it and returns when it is
// gone.
func (d *Bar) Stop() {
	close(d.done)
	d.wg.Wait()
}

// ClearLine clears the terminal line before each write (a log line), so
// that log lines do not run into the bar, which redraws itself below.
type ClearLine struct{ W io.Writer }

func (c ClearLine) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.W, "\r\x1b[K"); err != nil {
		return 0, err
	}
	return c.W.Write(p)
}
