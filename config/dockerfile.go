package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// DockerCommand is the command a Dockerfile's final stage runs, worked out
// the way Docker does: ENTRYPOINT and CMD combined, exec (JSON) form as is,
// shell form run by the SHELL in effect (["/bin/sh", "-c"] by default).
type DockerCommand struct {
	// Argv is the command; empty when the final stage sets neither CMD nor
	// ENTRYPOINT itself or through an earlier stage it is built FROM (the
	// base image's command is not known to ebb).
	Argv []string
	// Source says where Argv came from, for messages, such as
	// "Dockerfile CMD (Dockerfile:7)" or
	// "Dockerfile ENTRYPOINT (Dockerfile:6) + CMD (Dockerfile:7)".
	Source string
	// Warnings are things that run but will likely not do what the user
	// wants, each starting with "FILE:LINE: ". A shell-form command gets one:
	// the shell does not forward SIGTERM unless the command uses exec.
	Warnings []string
}

// dockerInstr is one CMD or ENTRYPOINT as the image records it.
type dockerInstr struct {
	argv  []string
	shell bool   // written in shell form
	text  string // shell-form command text
	line  int
}

type dockerStage struct {
	name        string
	cmd         *dockerInstr
	cmdFromBase bool
	entrypoint  *dockerInstr
	shell       []string
}

var (
	heredocRE   = regexp.MustCompile(`<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`)
	directiveRE = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$`)
)

// DockerfileCommand works out the command of the final stage of the
// Dockerfile data; name is how to refer to the file in Source and Warnings.
// It follows line continuations (with the escape parser directive), skips
// comments and heredoc bodies, and follows FROM to earlier stages.
func DockerfileCommand(name string, data []byte) DockerCommand {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	escape := byte('\\')

	// Parser directives: only at the very top, before anything else.
	for _, l := range lines {
		m := directiveRE.FindStringSubmatch(l)
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") && (m[2] == "`" || m[2] == `\`) {
			escape = m[2][0]
		}
	}

	var stages []*dockerStage
	stage := &dockerStage{shell: []string{"/bin/sh", "-c"}}
	for i := 0; i < len(lines); i++ {
		startLine := i + 1
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		// Join continuation lines; comment and blank lines inside are dropped.
		var logical strings.Builder
		cur := strings.TrimRight(lines[i], " \t")
		for {
			if len(cur) > 0 && cur[len(cur)-1] == escape && i+1 < len(lines) {
				logical.WriteString(cur[:len(cur)-1])
				i++
				for i < len(lines) && (strings.TrimSpace(lines[i]) == "" || strings.HasPrefix(strings.TrimSpace(lines[i]), "#")) {
					i++
				}
				if i >= len(lines) {
					break
				}
				cur = strings.TrimRight(lines[i], " \t")
				continue
			}
			logical.WriteString(cur)
			break
		}
		instr := strings.TrimSpace(logical.String())
		keyword, args, _ := strings.Cut(instr, " ")
		if k2, a2, ok := strings.Cut(instr, "\t"); ok && len(k2) < len(keyword) {
			keyword, args = k2, a2
		}
		keyword = strings.ToUpper(keyword)
		args = strings.TrimSpace(args)

		// Heredoc bodies (RUN <<EOF ... EOF) are not instructions.
		if keyword == "RUN" || keyword == "COPY" || keyword == "ADD" {
			for _, m := range heredocRE.FindAllStringSubmatch(args, -1) {
				dash, word := m[1] == "-", m[3]
				for i+1 < len(lines) {
					i++
					body := lines[i]
					if dash {
						body = strings.TrimLeft(body, "\t")
					}
					if strings.TrimRight(body, "\r") == word {
						break
					}
				}
			}
		}

		switch keyword {
		case "FROM":
			stage = newDockerStage(stages, args)
			stages = append(stages, stage)
		case "SHELL":
			if argv, ok := execForm(args); ok && len(argv) > 0 {
				stage.shell = argv
			}
		case "CMD":
			stage.cmd = parseDockerInstr(args, stage.shell, startLine)
			stage.cmdFromBase = false
		case "ENTRYPOINT":
			stage.entrypoint = parseDockerInstr(args, stage.shell, startLine)
			if stage.cmdFromBase {
				stage.cmd = nil // Docker resets an inherited CMD
			}
		}
	}
	if len(stages) == 0 {
		stages = append(stages, stage)
	}
	final := stages[len(stages)-1]

	var out DockerCommand
	loc := func(in *dockerInstr) string { return fmt.Sprintf("%s:%d", name, in.line) }
	warnShell := func(kind string, in *dockerInstr, extra string) {
		if !in.shell || startsWithExec(in.text) {
			return
		}
		out.Warnings = append(out.Warnings, fmt.Sprintf(
			"%s: %s uses the shell form, so it runs as %s; the shell will not forward SIGTERM to the app unless the command starts with `exec` — write it in exec form (%s [\"prog\", \"arg\"]) or use `ebb run`%s",
			loc(in), kind, formatArgv(in.argv), kind, extra))
	}
	switch ep, cmd := final.entrypoint, final.cmd; {
	case ep != nil && ep.shell:
		out.Argv = ep.argv
		out.Source = "Dockerfile ENTRYPOINT (" + loc(ep) + ")"
		extra := ""
		if cmd != nil {
			extra = fmt.Sprintf("; CMD (%s) is ignored after a shell-form ENTRYPOINT", loc(cmd))
		}
		warnShell("ENTRYPOINT", ep, extra)
	case ep != nil && cmd != nil:
		out.Argv = append(append([]string{}, ep.argv...), cmd.argv...)
		out.Source = "Dockerfile ENTRYPOINT (" + loc(ep) + ") + CMD (" + loc(cmd) + ")"
	case ep != nil:
		out.Argv = ep.argv
		out.Source = "Dockerfile ENTRYPOINT (" + loc(ep) + ")"
	case cmd != nil:
		out.Argv = cmd.argv
		out.Source = "Dockerfile CMD (" + loc(cmd) + ")"
		warnShell("CMD", cmd, "")
	}
	return out
}

// newDockerStage starts a stage for `FROM [--flags] image [AS name]`,
// inheriting CMD, ENTRYPOINT and SHELL when image names an earlier stage.
func newDockerStage(stages []*dockerStage, args string) *dockerStage {
	fields := strings.Fields(args)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		fields = fields[1:]
	}
	s := &dockerStage{shell: []string{"/bin/sh", "-c"}}
	if len(fields) >= 3 && strings.EqualFold(fields[1], "AS") {
		s.name = strings.ToLower(fields[2])
	}
	if len(fields) > 0 {
		base := strings.ToLower(fields[0])
		for j := len(stages) - 1; j >= 0; j-- {
			if stages[j].name != "" && stages[j].name == base {
				b := stages[j]
				s.cmd, s.entrypoint, s.shell = b.cmd, b.entrypoint, b.shell
				s.cmdFromBase = b.cmd != nil
				break
			}
		}
	}
	return s
}

// parseDockerInstr reads the arguments of CMD or ENTRYPOINT: a JSON list of
// strings is the exec form; anything else is the shell form.
func parseDockerInstr(args string, shell []string, line int) *dockerInstr {
	if argv, ok := execForm(args); ok {
		return &dockerInstr{argv: argv, line: line}
	}
	argv := append(append([]string{}, shell...), args)
	return &dockerInstr{argv: argv, shell: true, text: args, line: line}
}

func execForm(args string) ([]string, bool) {
	if !strings.HasPrefix(args, "[") {
		return nil, false
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		return nil, false
	}
	if argv == nil {
		argv = []string{}
	}
	return argv, true
}

func startsWithExec(cmd string) bool {
	f := strings.Fields(cmd)
	return len(f) > 0 && f[0] == "exec"
}

// formatArgv renders argv as a JSON list, the way a Dockerfile writes it.
func formatArgv(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(a); err != nil {
			parts[i] = fmt.Sprintf("%q", a)
			continue
		}
		parts[i] = strings.TrimSuffix(b.String(), "\n")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
