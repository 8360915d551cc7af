package hl7

import (
	"testing"
)

func TestUnescape(t *testing.T) {
	v27 := Delimiters{'|', '^', '~', '\\', '&', '#'}
	tests := []struct {
		name string
		in   string
		d    Delimiters
		want string
	}{
		{"text without escapes is unchanged", "plain text", DefaultDelimiters, "plain text"},
		{"\\F\\ is the field separator", `a\F\b`, DefaultDelimiters, "a|b"},
		{"\\S\\ is the component separator", `a\S\b`, DefaultDelimiters, "a^b"},
		{"\\T\\ is the subcomponent separator", `a\T\b`, DefaultDelimiters, "a&b"},
		{"\\R\\ is the repetition separator", `a\R\b`, DefaultDelimiters, "a~b"},
		{"\\E\\ is the escape character", `a\E\b`, DefaultDelimiters, `a\b`},
		{"\\P\\ is the truncation character when declared", `a\P\b`, v27, "a#b"},
		{"\\P\\ is kept when no truncation character is declared", `a\P\b`, DefaultDelimiters, `a\P\b`},
		{"sequences follow the declared delimiters", `a?F?b?S?c`, Delimiters{'*', ':', '+', '?', '$', 0}, "a*b:c"},
		{"\\X hex decodes to bytes", `\X48656C6C6F\`, DefaultDelimiters, "Hello"},
		{"\\X hex may produce 8-bit bytes", `caf\XE9\`, DefaultDelimiters, "caf\xe9"},
		{"lower-case hex digits are accepted", `\Xc3a9\`, DefaultDelimiters, "\xc3\xa9"},
		{"an odd number of hex digits is kept as written", `\X4\`, DefaultDelimiters, `\X4\`},
		{"non-hex digits are kept as written", `\XZZ\`, DefaultDelimiters, `\XZZ\`},
		{"\\X without digits is kept as written", `\X\`, DefaultDelimiters, `\X\`},
		{"highlighting \\H\\ and \\N\\ are kept", `\H\bold\N\`, DefaultDelimiters, `\H\bold\N\`},
		{"line break \\.br\\ is kept", `one\.br\two`, DefaultDelimiters, `one\.br\two`},
		{"\\.sp\\ with a count is kept", `\.sp2\`, DefaultDelimiters, `\.sp2\`},
		{"character set \\Zxx\\, \\Cxxyy\\ and \\Mxxyyzz\\ are kept", `\ZAB\\C2842\\M284244\`, DefaultDelimiters, `\ZAB\\C2842\\M284244\`},
		{"an unknown sequence is kept", `\Q\`, DefaultDelimiters, `\Q\`},
		{"two escape characters in a row are kept", `a\\b`, DefaultDelimiters, `a\\b`},
		{"an unterminated escape is kept", `abc\F`, DefaultDelimiters, `abc\F`},
		{"a lone escape character at the end is kept", `abc\`, DefaultDelimiters, `abc\`},
		{"a sequence after a decoded one is decoded", `\F\\S\\T\`, DefaultDelimiters, "|^&"},
		{"UTF-8 around sequences passes through", "é\\F\\ü", DefaultDelimiters, "é|ü"},
		{"a zero escape character turns decoding off", `a\F\b`, Delimiters{Field: '|'}, `a\F\b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Unescape([]byte(tt.in), tt.d)); got != tt.want {
				t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnescapeWithoutEscapesReturnsTheInput(t *testing.T) {
	in := []byte("no escapes here")
	out := Unescape(in, DefaultDelimiters)
	if &out[0] != &in[0] || len(out) != len(in) {
		t.Error("Unescape copied a value that has no escape character")
	}
	if n := testing.AllocsPerRun(100, func() { Unescape(in, DefaultDelimiters) }); n != 0 {
		t.Errorf("Unescape allocated %v times", n)
	}
}

func TestEscape(t *testing.T) {
	v27 := Delimiters{'|', '^', '~', '\\', '&', '#'}
	tests := []struct {
		name string
		in   string
		d    Delimiters
		want string
	}{
		{"plain text is unchanged", "Message accepted", DefaultDelimiters, "Message accepted"},
		{"each delimiter gets its sequence", `|^&~\`, DefaultDelimiters, `\F\\S\\T\\R\\E\`},
		{"the truncation character is escaped when declared", "a#b", v27, `a\P\b`},
		{"# is plain without a truncation character", "a#b", DefaultDelimiters, "a#b"},
		{"line breaks become hex so a segment never breaks", "a\rb\nc", DefaultDelimiters, `a\X0D\b\X0A\c`},
		{"the declared delimiters are used", "a*b", Delimiters{'*', ':', '+', '?', '$', 0}, "a?F?b"},
		{"UTF-8 passes through", "Zoë", DefaultDelimiters, "Zoë"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Escape(tt.in, tt.d)
			if got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if back := string(Unescape([]byte(got), tt.d)); back != tt.in {
				t.Errorf("Unescape(Escape(%q)) = %q", tt.in, back)
			}
		})
	}
}
