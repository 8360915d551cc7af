package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hl7gw/gateway/config"
)

// serveCmd runs the gateway until ctx ends (SIGINT/SIGTERM), then shuts it
// down in order: stop accepting, answer what is in flight, flush, close.
func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, stdout, stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	log.Info("gateway starting", readBuildInfo().attrs()...)
	g, err := start(ctx, cfg, log)
	if err != nil {
		log.Error("gateway did not start", slog.String("error", err.Error()))
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	case err = <-g.errc:
		log.Error("a listener failed, shutting down", slog.String("error", err.Error()))
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if serr := g.shutdown(sctx); serr != nil {
		log.Error("shutdown incomplete", slog.String("error", serr.Error()))
		return errors.Join(err, serr)
	}
	log.Info("stopped")
	return err
}

// loadConfig parses the configuration flags of a command and loads and
// validates the configuration (flag > GATEWAY_* environment > file >
// defaults). Extra flags may be defined on fs by the caller first. When
// show is set, only the flags it accepts are listed by --help and may be
// given; the others are a usage error.
func loadConfig(cmd string, args []string, stdout, stderr io.Writer, show func(string) bool, extra ...func(*flag.FlagSet)) (config.Config, error) {
	fs := newFlagSet(cmd, args, stdout, stderr, show)
	fl := config.RegisterFlags(fs)
	for _, e := range extra {
		e(fs)
	}
	if err := fs.Parse(args); err != nil {
		return config.Config{}, usageErr(err)
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	var bad error
	fs.Visit(func(f *flag.Flag) {
		if show != nil && !show(f.Name) && bad == nil {
			bad = fmt.Errorf("%w: --%s does not apply to %s", errUsage, f.Name, cmd)
		}
	})
	if bad != nil {
		return config.Config{}, bad
	}
	cfg, err := fl.Load(os.Getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// newLogger builds the process logger: JSON (default) or text on w.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(c.Format) == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// readyTimeout bounds one readiness probe of the broker.
const readyTimeout = 3 * time.Second
