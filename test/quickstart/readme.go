// Package quickstart holds the test that runs the README's quick start
// verbatim against `make run`, so that the README cannot drift from what
// works on a fresh clone.
package quickstart

import (
	"bufio"
	"fmt"
	"strings"
)

// Block is one fenced code block of the quick start: its commands in
// order, a command continued over several lines (trailing backslash)
// joined into one.
type Block []string

// QuickStart returns the code blocks of the README section "## Quick
// start", up to the next "## " heading.
func QuickStart(readme string) ([]Block, error) {
	_, rest, ok := strings.Cut(readme, "\n## Quick start\n")
	if !ok {
		return nil, fmt.Errorf("quickstart: no \"## Quick start\" section")
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	var (
		blocks []Block
		cur    Block
		in     bool
		cont   string
	)
	sc := bufio.NewScanner(strings.NewReader(rest))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```") && !in:
			in, cur = true, Block{}
		case strings.HasPrefix(trimmed, "```"):
			if cont != "" {
				return nil, fmt.Errorf("quickstart: a code block ends in a continued line")
			}
			in = false
			blocks = append(blocks, cur)
		case !in, trimmed == "", strings.HasPrefix(trimmed, "#") && cont == "":
		case strings.HasSuffix(line, "\\"):
			cont += strings.TrimSuffix(line, "\\") + "\\\n"
		default:
			cur = append(cur, cont+line)
			cont = ""
		}
	}
	if in {
		return nil, fmt.Errorf("quickstart: an unterminated code block")
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("quickstart: no code blocks")
	}
	return blocks, nil
}
