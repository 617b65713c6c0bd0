package daemon

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ftpmirror/ftpmirror/internal/jobs"
)

// listenAddr turns -listen's value into an address: a bare port means
// loopback only ("9100" is "127.0.0.1:9100"); ":9100" means every
// interface, as for net.Listen.
func listenAddr(s string) string {
	if s != "" && !strings.Contains(s, ":") {
		return net.JoinHostPort("127.0.0.1", s)
	}
	return s
}

// httpHandler serves /metrics, /healthz and /status.
//
// /healthz answers 200 "ok" while every job with a max_age has succeeded
// within it, else 503 naming the stale jobs: the process being up is not
// the point, fresh mirrors are. A job that never succeeded gets max_age
// from the daemon's start.
func httpHandler(m *metrics, reports func() []jobs.Report) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		var stale []string
		for _, rep := range reports() {
			if rep.Stale {
				last := "never"
				if !rep.LastSuccess.IsZero() {
					last = rep.LastSuccess.UTC().Format(time.RFC3339)
				}
				stale = append(stale, fmt.Sprintf("%s: last success %s, max_age %s", rep.Job, last, rep.MaxAge))
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(stale) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "stale\n%s\n", strings.Join(stale, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(reports())
	})
	return mux
}
