package supervisor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// portFlags are the flags that take a port as their next argument or after
// "=": uvicorn, gunicorn-style servers, Flask, Streamlit and most CLIs.
var portFlags = []string{"--port", "-p", "--server.port", "--http-port", "--listen-port"}

// PrepareCommand adapts argv to an app that must listen on internalPort
// while its command names configuredPort:
//
//   - "$PORT" and "${PORT}" are replaced by internalPort in every argument
//     (the app also gets PORT in its environment, so a shell expands it the
//     same way);
//   - the configured port, when named literally, is rewritten: "--port 8000",
//     "--port=8000", "-p 8000", "0.0.0.0:8000", ":8000", "localhost:8000",
//     "127.0.0.1:8000", "[::]:8000", also inside a shell script argument
//     such as sh -c "uvicorn main:app --port 8000".
//
// It returns the new argv (argv itself is not modified) and one
// human-readable note per rewritten argument, to be logged at start.
// configuredPort <= 0 disables the literal rewrite.
func PrepareCommand(argv []string, configuredPort, internalPort int) (out []string, notes []string) {
	internal := strconv.Itoa(internalPort)
	out = make([]string, len(argv))
	var rw *portRewriter
	if configuredPort > 0 && configuredPort != internalPort {
		rw = newPortRewriter(configuredPort, internal)
	}
	for i, a := range argv {
		b := strings.ReplaceAll(strings.ReplaceAll(a, "${PORT}", internal), "$PORT", internal)
		if rw != nil {
			if i > 0 && isPortFlag(argv[i-1]) && b == rw.port {
				b = internal
			} else {
				b = rw.rewrite(b)
			}
		}
		if b != a {
			notes = append(notes, fmt.Sprintf("argument %d: %q -> %q", i, a, b))
		}
		out[i] = b
	}
	return out, notes
}

func isPortFlag(s string) bool {
	for _, f := range portFlags {
		if s == f {
			return true
		}
	}
	return false
}

type portRewriter struct {
	port     string
	internal string
	flag     *regexp.Regexp // --port 8000 / --port=8000 / -p 8000
	hostPort *regexp.Regexp // [host]:8000
}

func newPortRewriter(configured int, internal string) *portRewriter {
	port := strconv.Itoa(configured)
	flags := make([]string, len(portFlags))
	for i, f := range portFlags {
		flags[i] = regexp.QuoteMeta(f)
	}
	return &portRewriter{
		port:     port,
		internal: internal,
		flag: regexp.MustCompile(`(^|[\s"'])(` + strings.Join(flags, "|") + `)([=\s]+["']?)` +
			port + `\b`),
		hostPort: regexp.MustCompile(`(^|[\s=/"'(,])(0\.0\.0\.0|localhost|127\.0\.0\.1|\[::\]|\[::1\]|\*|)` +
			`:` + port + `\b`),
	}
}

func (r *portRewriter) rewrite(s string) string {
	if !strings.Contains(s, r.port) {
		return s
	}
	s = r.flag.ReplaceAllString(s, "${1}${2}${3}"+r.internal)
	return r.hostPort.ReplaceAllString(s, "${1}${2}:"+r.internal)
}
