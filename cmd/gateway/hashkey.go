package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/hl7gw/gateway/edge/auth"
)

// hashKeyCmd reads one API key from in (its first line, without the line
// ending) and prints its hash, or a whole auth.api.keys.file line when a
// name and scopes are given. Reading the key from standard input keeps it
// out of the shell history and the process list.
func hashKeyCmd(args []string, in io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("hash-key", args, stdout, stderr, nil)
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	args = fs.Args()
	if len(args) != 0 && len(args) != 2 {
		return fmt.Errorf("%w: hash-key takes no arguments, or NAME and SCOPE[,SCOPE...]", errUsage)
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read key: %w", err)
	}
	key := strings.TrimRight(line, "\r\n")
	if len(key) < 16 {
		return fmt.Errorf("%w: the key on standard input is shorter than 16 characters; use a random key of 128 bits or more (openssl rand -hex 32)", errUsage)
	}
	h := auth.HashKey(key)
	if len(args) == 2 {
		if strings.ContainsAny(args[0], " \t") || strings.ContainsAny(args[1], " \t") {
			return fmt.Errorf("%w: NAME and SCOPES must not contain blanks", errUsage)
		}
		fmt.Fprintf(stdout, "%s %s %s\n", args[0], h, args[1])
		return nil
	}
	fmt.Fprintln(stdout, h)
	return nil
}
