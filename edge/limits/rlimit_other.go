//go:build !unix

package limits

func raiseFileLimit() (FileLimit, error) { return FileLimit{}, ErrNoFileLimit }
