package quickstart

import (
	"strings"
	"testing"
)

func TestQuickStartExtractsCommandsVerbatim(t *testing.T) {
	readme := "# T\n\n## Quick start\n\n```sh\nmake run   # start\nmake test\n```\n\ntext\n\n```sh\n" +
		"# a comment line\nfoo --a \\\n    --b   # tail\n\nbar 'x\\n'\n```\n\n## Next\n\n```sh\nnot this\n```\n"
	blocks, err := QuickStart(readme)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("%d blocks, want 2: %q", len(blocks), blocks)
	}
	if got := strings.Join(blocks[0], "|"); got != "make run   # start|make test" {
		t.Fatalf("first block %q", got)
	}
	if got := strings.Join(blocks[1], "|"); got != "foo --a \\\n    --b   # tail|bar 'x\\n'" {
		t.Fatalf("second block %q", got)
	}
}

func TestQuickStartRefusesAMissingOrBrokenSection(t *testing.T) {
	tests := []struct{ name, readme string }{
		{"no section", "# T\n\n## Other\n```sh\nx\n```\n"},
		{"an unterminated block", "# T\n\n## Quick start\n```sh\nx\n"},
		{"a block ending in a continued line", "# T\n\n## Quick start\n```sh\nx \\\n```\n"},
		{"no blocks", "# T\n\n## Quick start\ntext only\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := QuickStart(tt.readme); err == nil {
				t.Fatal("QuickStart succeeded")
			}
		})
	}
}
