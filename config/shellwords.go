package config

import (
	"fmt"
	"strings"
)

// shellError is a command string that cannot be split into words.
type shellError struct {
	// Offset is the byte offset in the command where the problem starts.
	Offset int
	Msg    string
}

func (e *shellError) Error() string { return e.Msg }

// SplitCommand splits a command line into words the way a POSIX shell does,
// without running anything: blanks separate words; single quotes keep
// everything up to the next single quote; double quotes keep everything up to
// the next unescaped double quote, where a backslash escapes only $ ` " \ and
// newline; outside quotes a backslash escapes the next character and
// backslash-newline joins lines. There is no expansion: $VAR, globs, pipes
// and && are plain text. This is how Cerebrium splits a string entrypoint.
func SplitCommand(s string) ([]string, error) {
	words, _, err := splitCommand(s)
	if err != nil {
		return nil, fmt.Errorf("config.SplitCommand: %w", err)
	}
	return words, nil
}

// splitCommand is SplitCommand, also returning for each word whether it was
// written without any quoting (so a shell would have read it as syntax).
func splitCommand(s string) (words []string, plain []bool, err error) {
	var (
		cur     strings.Builder
		inWord  bool
		isPlain = true
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				plain = append(plain, isPlain)
				cur.Reset()
				inWord, isPlain = false, true
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, nil, &shellError{Offset: i, Msg: "the command ends with a lone backslash"}
			}
			i++
			if s[i] == '\n' {
				continue // line continuation
			}
			isPlain = false
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, nil, &shellError{Offset: i, Msg: "unterminated single quote"}
			}
			isPlain = false
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			start := i
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						cur.WriteByte(s[i])
					}
					continue
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, nil, &shellError{Offset: start, Msg: "unterminated double quote"}
			}
			inWord, isPlain = true, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
		plain = append(plain, isPlain)
	}
	return words, plain, nil
}

// shellOperators are words a shell would treat as syntax; in an entrypoint
// string they reach the program as plain arguments.
var shellOperators = map[string]bool{
	"&&": true, "||": true, "|": true, ";": true, "&": true, ">": true, ">>": true, "<": true, "2>&1": true,
}
