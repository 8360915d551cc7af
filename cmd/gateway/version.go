package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
)

// version, when set at build time (-ldflags "-X main.version=v1.2.3"),
// overrides the module version recorded in the binary.
var version = ""

// buildInfo is what the binary knows of its own build.
type buildInfo struct {
	Version   string // module version, "(devel)" for a build in the source tree
	Revision  string // VCS revision, "" when not recorded (go run, go test)
	Modified  bool   // the work tree had uncommitted changes
	GoVersion string
}

// readBuildInfo reads runtime/debug.ReadBuildInfo: the main module's
// version and the vcs.revision and vcs.modified settings.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.GoVersion = bi.GoVersion
		if bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		b.Version = version
	}
	return b
}

// String renders "VERSION (revision REV[, modified], GO)".
func (b buildInfo) String() string {
	rev := b.Revision
	if rev == "" {
		rev = "unknown"
	}
	if b.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("%s (revision %s, %s)", b.Version, rev, b.GoVersion)
}

// attrs are the build's log attributes.
func (b buildInfo) attrs() []any {
	return []any{slog.String("version", b.Version), slog.String("revision", b.Revision),
		slog.Bool("modified", b.Modified), slog.String("go", b.GoVersion)}
}

// versionCmd implements `gateway version` (and --version).
func versionCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", args, stdout, stderr, nil)
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	fmt.Fprintln(stdout, "gateway", readBuildInfo())
	return nil
}

// usageErr wraps a flag parse error as a usage error, keeping flag.ErrHelp
// (help was asked for: exit 0) recognisable.
func usageErr(err error) error {
	if err == flag.ErrHelp {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}
