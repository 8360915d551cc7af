package edge

import (
	"log/slog"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/limits"
)

// FileBudget raises the soft open-file limit to the hard one, logs both,
// and derives from it the connection budget of every door listener (see
// limits.NewBudget): the MLLP servers, the HTTP listeners (the debug one
// included) and the gRPC servers share 80% of the limit equally; the rest
// is kept for the brokers, the embedded broker's listener and the
// gateway's files. A limit that cannot be read (not a Unix system) gives
// the budget of 1024 files, the smallest common default.
func FileBudget(cfg config.Config, log *slog.Logger) limits.Budget {
	fl, err := limits.RaiseFileLimit()
	files := fl.Soft
	if err != nil {
		log.Warn("open-file limit not raised", slog.String("error", err.Error()))
		if files == 0 {
			files = 1024
		}
	}
	b := limits.NewBudget(files, Listeners(cfg))
	log.Info("open-file limit", slog.Uint64("soft", fl.Soft), slog.Uint64("hard", fl.Hard),
		slog.Uint64("soft_before", fl.Before), slog.String("budget", b.String()))
	return b
}

// Listeners counts the listeners a gateway binds for cfg: one per hl7-mllp
// and grpc connector, one per HTTP address (the global one, which serves
// /metrics and the probes, and those of fhir-rest connectors), and the
// debug listener. A connector whose settings do not resolve counts as one
// listener; the gateway then fails start anyway.
func Listeners(cfg config.Config) int {
	httpAddrs := map[string]bool{cfg.HTTPAddr: true}
	n := 0
	for _, c := range cfg.Connectors {
		s, err := c.Settings(cfg)
		if c.Type == config.TypeFHIRREST && err == nil {
			httpAddrs[s.ListenAddr] = true
			continue
		}
		n++
	}
	n += len(httpAddrs)
	if cfg.DebugAddr != "" {
		n++
	}
	return n
}
