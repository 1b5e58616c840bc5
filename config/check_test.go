package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// head is a valid start that the cases add to: line 1 and 2.
const head = "[cerebrium.deployment]\nname = \"app\"\n"

// TestChecks covers every check with its exact message and position.
func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string
	}{
		// TOML itself.
		{"syntax", head + "cpu = \n",
			[]string{`cerebrium.toml:3:7: TOML syntax error: expected a value after '=' but the line ends`}},
		{"syntax unquoted string", head + "[cerebrium.hardware]\nregion = us\n",
			[]string{`cerebrium.toml:4:10: TOML syntax error: unexpected character U+0075 'u' at start of value; strings must be quoted, like "text"`}},
		{"syntax unterminated string", head + "[cerebrium.hardware]\nregion = \"us\n",
			[]string{`cerebrium.toml:4:13: TOML syntax error: basic strings cannot have new lines`}},
		{"duplicate key", head + "name = \"b\"\n",
			[]string{`cerebrium.toml:3:1: cerebrium.deployment.name: TOML: defined twice (first at line 2)`}},
		{"table twice", head + "[cerebrium.scaling]\n[cerebrium.scaling]\n",
			[]string{`cerebrium.toml:4:12: cerebrium.scaling: TOML: table [cerebrium.scaling] is defined twice (first at line 3)`}},

		// Types.
		{"int as string", head + "[cerebrium.scaling]\ncooldown = \"30s\"\n",
			[]string{`cerebrium.toml:4:12: cerebrium.scaling.cooldown: expected an integer number of seconds, got string "30s"`}},
		{"int as float", head + "[cerebrium.scaling]\nmax_replicas = 2.5\n",
			[]string{`cerebrium.toml:4:16: cerebrium.scaling.max_replicas: expected an integer, got float 2.5`}},
		{"bool as string", head + "disable_auth = \"yes\"\n",
			[]string{`cerebrium.toml:3:16: cerebrium.deployment.disable_auth: expected true or false, got string "yes"`}},
		{"string as int", head + "python_version = 3.11\n",
			[]string{`cerebrium.toml:3:18: cerebrium.deployment.python_version: expected a string, got float 3.11`}},
		{"number as bool", head + "[cerebrium.hardware]\nmemory = true\n",
			[]string{`cerebrium.toml:4:10: cerebrium.hardware.memory: expected a number of GB, got boolean true`}},
		{"list as string", head + "include = \"*\"\n",
			[]string{`cerebrium.toml:3:11: cerebrium.deployment.include: expected a list of strings, got string "*"`}},
		{"list element", head + "exclude = [\".*\",\n  7]\n",
			[]string{`cerebrium.toml:4:3: cerebrium.deployment.exclude[1]: expected a string, got integer 7`}},
		{"section as value", "cerebrium.scaling = 5\n" + "cerebrium.deployment.name = \"app\"\n",
			[]string{`cerebrium.toml:1:21: cerebrium.scaling: expected a table ([cerebrium.scaling]: replica counts, concurrency and autoscaling), got integer 5`}},
		{"cerebrium not a table", "cerebrium = 1\n",
			[]string{
				`cerebrium.toml:1:13: cerebrium: expected a table of [cerebrium.*] sections, got integer 1`,
				`cerebrium.toml: cerebrium.deployment.name: required: the app's name, in lowercase letters, digits and dashes (for example name = "my-app" in [cerebrium.deployment])`,
			}},
		{"date", head + "python_version = 2024-01-01\n",
			[]string{`cerebrium.toml:3:18: cerebrium.deployment.python_version: expected a string, got date-time 2024-01-01`}},
		{"entrypoint type", head + "[cerebrium.runtime.custom]\nentrypoint = 5\n",
			[]string{`cerebrium.toml:4:14: cerebrium.runtime.custom.entrypoint: expected a command: a string like "python main.py" or a list like ["python", "main.py"], got integer 5`}},
		{"compute type", head + "[cerebrium.hardware]\ncompute = 1\n",
			[]string{`cerebrium.toml:4:11: cerebrium.hardware.compute: expected a compute type or a list of up to 5 of them, got integer 1`}},
		{"dependency value", head + "[cerebrium.dependencies.pip]\nnumpy = 1\n",
			[]string{`cerebrium.toml:4:9: cerebrium.dependencies.pip.numpy: expected a string (pip packages and versions), got integer 1`}},

		// Unknown keys and sections.
		{"unknown key suggestion", head + "[cerebrium.scaling]\ncoldown = 30\n",
			[]string{`cerebrium.toml:4:1: cerebrium.scaling.coldown: unknown key in [cerebrium.scaling]; did you mean "cooldown"?`}},
		{"unknown key transposition", head + "[cerebrium.hardware]\ncpu = 1\nmemroy = 2\n",
			[]string{`cerebrium.toml:5:1: cerebrium.hardware.memroy: unknown key in [cerebrium.hardware]; did you mean "memory"?`}},
		{"unknown key elsewhere", head + "[cerebrium.scaling]\nport = 80\n",
			[]string{`cerebrium.toml:4:1: cerebrium.scaling.port: unknown key in [cerebrium.scaling]; port belongs in [cerebrium.runtime.custom]`}},
		{"unknown key list", head + "[cerebrium.hardware]\nflavour = 1\n",
			[]string{`cerebrium.toml:4:1: cerebrium.hardware.flavour: unknown key in [cerebrium.hardware]; accepted: cpu, memory, compute, gpu_count, provider, region`}},
		{"unknown section", head + "[cerebrium.scalling]\nmin_replicas = 1\n",
			[]string{`cerebrium.toml:3:12: cerebrium.scalling: unknown section in [cerebrium]; did you mean "scaling"?`}},
		{"unknown nested section", head + "[cerebrium.runtime.costum]\nport = 1\n",
			[]string{`cerebrium.toml:3:20: cerebrium.runtime.costum: unknown section in [cerebrium.runtime]; did you mean "custom"?`}},
		{"unknown top level", head + "[tool.poetry]\n",
			[]string{`cerebrium.toml:3:2: tool: unknown section at the top level (ebb reads only the [cerebrium.*] sections)`}},
		{"unknown top level typo", "[cerebruim.deployment]\nname = \"app\"\n",
			[]string{
				`cerebrium.toml:1:2: cerebruim: unknown section at the top level (ebb reads only the [cerebrium.*] sections); did you mean "cerebrium"?`,
				`cerebrium.toml: cerebrium.deployment.name: required: the app's name, in lowercase letters, digits and dashes (for example name = "my-app" in [cerebrium.deployment])`,
			}},
		{"unknown dotted key", head + "[cerebrium]\nscaling.cooldwn = 1\n",
			[]string{`cerebrium.toml:4:9: cerebrium.scaling.cooldwn: unknown key in [cerebrium.scaling]; did you mean "cooldown"?`}},
		{"unknown paths key", head + "[cerebrium.dependencies.paths]\npipp = \"requirements.txt\"\n",
			[]string{`cerebrium.toml:4:1: cerebrium.dependencies.paths.pipp: unknown key in [cerebrium.dependencies.paths]; did you mean "pip"?`}},

		// Ranges.
		{"init timeout low", head + "deployment_initialization_timeout = 59\n",
			[]string{`cerebrium.toml:3:37: cerebrium.deployment.deployment_initialization_timeout: 59 is out of range; accepted: 60 to 830 seconds`}},
		{"init timeout high", head + "deployment_initialization_timeout = 831\n",
			[]string{`cerebrium.toml:3:37: cerebrium.deployment.deployment_initialization_timeout: 831 is out of range; accepted: 60 to 830 seconds`}},
		{"evaluation interval", head + "[cerebrium.scaling]\nevaluation_interval_seconds = 5\n",
			[]string{`cerebrium.toml:4:31: cerebrium.scaling.evaluation_interval_seconds: 5 is out of range; accepted: 6 to 300 seconds`}},
		{"roll out", head + "[cerebrium.scaling]\nroll_out_duration_seconds = 601\n",
			[]string{`cerebrium.toml:4:29: cerebrium.scaling.roll_out_duration_seconds: 601 is out of range; accepted: 0 to 600 seconds`}},
		{"gpu count", head + "[cerebrium.hardware]\ncompute = \"ADA_L4\"\ngpu_count = 9\n",
			[]string{`cerebrium.toml:5:13: cerebrium.hardware.gpu_count: 9 is out of range; accepted: 0 to 8`}},
		{"port zero", head + "[cerebrium.runtime.custom]\nport = 0\n",
			[]string{`cerebrium.toml:4:8: cerebrium.runtime.custom.port: 0 is out of range; accepted: 1 to 65535`}},
		{"port high", head + "[cerebrium.runtime.custom]\nport = 65536\n",
			[]string{`cerebrium.toml:4:8: cerebrium.runtime.custom.port: 65536 is out of range; accepted: 1 to 65535`}},
		{"min replicas", head + "[cerebrium.scaling]\nmin_replicas = -1\n",
			[]string{`cerebrium.toml:4:16: cerebrium.scaling.min_replicas: -1 is out of range; accepted: 0 or more`}},
		{"max replicas", head + "[cerebrium.scaling]\nmax_replicas = -2\n",
			[]string{`cerebrium.toml:4:16: cerebrium.scaling.max_replicas: -2 is out of range; accepted: 0 or more`}},
		{"replica concurrency", head + "[cerebrium.scaling]\nreplica_concurrency = 0\n",
			[]string{`cerebrium.toml:4:23: cerebrium.scaling.replica_concurrency: 0 is out of range; accepted: 1 or more`}},
		{"cooldown", head + "[cerebrium.scaling]\ncooldown = -5\n",
			[]string{`cerebrium.toml:4:12: cerebrium.scaling.cooldown: -5 is out of range; accepted: 0 or more seconds`}},
		{"grace period", head + "[cerebrium.scaling]\nresponse_grace_period = 0\n",
			[]string{`cerebrium.toml:4:25: cerebrium.scaling.response_grace_period: 0 is out of range; accepted: 1 or more seconds`}},
		{"scaling target", head + "[cerebrium.scaling]\nscaling_target = 0\n",
			[]string{`cerebrium.toml:4:18: cerebrium.scaling.scaling_target: 0 is out of range; accepted: more than 0`}},
		{"scaling buffer", head + "[cerebrium.scaling]\nscaling_buffer = -1\n",
			[]string{`cerebrium.toml:4:18: cerebrium.scaling.scaling_buffer: -1 is out of range; accepted: 0 or more`}},
		{"cpu", head + "[cerebrium.hardware]\ncpu = 0\n",
			[]string{`cerebrium.toml:4:7: cerebrium.hardware.cpu: 0 is out of range; accepted: more than 0 CPU cores`}},
		{"memory", head + "[cerebrium.hardware]\nmemory = -1.5\n",
			[]string{`cerebrium.toml:4:10: cerebrium.hardware.memory: -1.5 is out of range; accepted: more than 0 GB`}},
		{"memory nan", head + "[cerebrium.hardware]\nmemory = nan\n",
			[]string{`cerebrium.toml:4:10: cerebrium.hardware.memory: nan is out of range; accepted: more than 0 GB`}},
		{"too large", head + "[cerebrium.scaling]\nmax_replicas = 99999999999\n",
			[]string{`cerebrium.toml:4:16: cerebrium.scaling.max_replicas: 99999999999 is too large`}},

		// Enums.
		{"scaling metric", head + "[cerebrium.scaling]\nscaling_metric = \"cpu\"\n",
			[]string{`cerebrium.toml:4:18: cerebrium.scaling.scaling_metric: "cpu" is not accepted; accepted: "concurrency_utilization", "requests_per_second", "cpu_utilization", "memory_utilization"`}},
		{"scaling metric typo", head + "[cerebrium.scaling]\nscaling_metric = \"memory_utilisation\"\n",
			[]string{`cerebrium.toml:4:18: cerebrium.scaling.scaling_metric: "memory_utilisation" is not accepted; did you mean "memory_utilization"? accepted: "concurrency_utilization", "requests_per_second", "cpu_utilization", "memory_utilization"`}},
		{"load balancing", head + "[cerebrium.scaling]\nload_balancing_algorithm = \"round_robin\"\n",
			[]string{`cerebrium.toml:4:28: cerebrium.scaling.load_balancing_algorithm: "round_robin" is not accepted; did you mean "round-robin"? accepted: "", "first-available", "round-robin", "min-connections", "random-choice-2"`}},
		{"compute", head + "[cerebrium.hardware]\ncompute = \"A100\"\n",
			[]string{`cerebrium.toml:4:11: cerebrium.hardware.compute: "A100" is not accepted; accepted: "CPU", "TURING_T4", "AMPERE_A10", "ADA_L4", "ADA_L40", "AMPERE_A100_40GB", "AMPERE_A100_80GB", "HOPPER_H100", "HOPPER_H200", "BLACKWELL_B200", "BLACKWELL_RTX6000", "INF2", "TRN1"`}},
		{"compute list element", head + "[cerebrium.hardware]\ncompute = [\"ADA_L4\", \"ada_l40\"]\n",
			[]string{`cerebrium.toml:4:22: cerebrium.hardware.compute[1]: "ada_l40" is not accepted; did you mean "ADA_L40"? accepted: "CPU", "TURING_T4", "AMPERE_A10", "ADA_L4", "ADA_L40", "AMPERE_A100_40GB", "AMPERE_A100_80GB", "HOPPER_H100", "HOPPER_H200", "BLACKWELL_B200", "BLACKWELL_RTX6000", "INF2", "TRN1"`}},
		{"compute too many", head + "[cerebrium.hardware]\ncompute = [\"TURING_T4\", \"AMPERE_A10\", \"ADA_L4\", \"ADA_L40\", \"HOPPER_H100\", \"HOPPER_H200\"]\n",
			[]string{`cerebrium.toml:4:11: cerebrium.hardware.compute: lists 6 compute types; accepted: at most 5`}},
		{"compute empty", head + "[cerebrium.hardware]\ncompute = []\n",
			[]string{`cerebrium.toml:4:11: cerebrium.hardware.compute: the list is empty; name at least one compute type, like "CPU"`}},
		{"compute twice", head + "[cerebrium.hardware]\ncompute = [\"ADA_L4\", \"ADA_L4\"]\n",
			[]string{`cerebrium.toml:4:22: cerebrium.hardware.compute[1]: "ADA_L4" is listed twice`}},
		{"compute tier", head + "[cerebrium.scaling]\ncompute_tier = \"spot\"\n",
			[]string{`cerebrium.toml:4:16: cerebrium.scaling.compute_tier: "spot" is not accepted; accepted: "interruptible", "protected"`}},

		// Name.
		{"name missing", "[cerebrium.deployment]\ninclude = [\"*\"]\n",
			[]string{`cerebrium.toml:1:12: cerebrium.deployment.name: required: the app's name, in lowercase letters, digits and dashes (for example name = "my-app" in [cerebrium.deployment])`}},
		{"name missing, no section", "[cerebrium.scaling]\nmin_replicas = 1\n",
			[]string{`cerebrium.toml: cerebrium.deployment.name: required: the app's name, in lowercase letters, digits and dashes (for example name = "my-app" in [cerebrium.deployment])`}},
		{"name invalid", "[cerebrium.deployment]\nname = \"My_App\"\n",
			[]string{`cerebrium.toml:2:8: cerebrium.deployment.name: "My_App" is not a valid name; use lowercase letters, digits and dashes, like "my-app"`}},
		{"name empty", "[cerebrium.deployment]\nname = \"\"\n",
			[]string{`cerebrium.toml:2:8: cerebrium.deployment.name: "" is not a valid name; use lowercase letters, digits and dashes`}},

		// Across keys.
		{"min above max", head + "[cerebrium.scaling]\nmin_replicas = 3\nmax_replicas = 2\n",
			[]string{`cerebrium.toml:4:16: cerebrium.scaling.min_replicas: 3 is greater than max_replicas (2); min_replicas must not exceed max_replicas`}},
		{"min above default max", head + "[cerebrium.scaling]\nmin_replicas = 2\n",
			[]string{`cerebrium.toml:4:16: cerebrium.scaling.min_replicas: 2 is greater than max_replicas (1, the default); min_replicas must not exceed max_replicas`}},
		{"max below default min", head + "[cerebrium.scaling]\nmax_replicas = 0\n",
			nil},
		{"cpu metric needs min", head + "[cerebrium.scaling]\nscaling_metric = \"cpu_utilization\"\n",
			[]string{`cerebrium.toml:4:18: cerebrium.scaling.scaling_metric: "cpu_utilization" needs min_replicas of 1 or more (a replica must be running to measure), but min_replicas is 0, the default`}},
		{"memory metric needs min", head + "[cerebrium.scaling]\nmin_replicas = 0\nscaling_metric = \"memory_utilization\"\n",
			[]string{`cerebrium.toml:5:18: cerebrium.scaling.scaling_metric: "memory_utilization" needs min_replicas of 1 or more (a replica must be running to measure), but min_replicas is 0`}},
		{"buffer with cpu metric", head + "[cerebrium.scaling]\nmin_replicas = 1\nscaling_metric = \"cpu_utilization\"\nscaling_buffer = 1\n",
			[]string{`cerebrium.toml:6:1: cerebrium.scaling.scaling_buffer: applies only with scaling_metric "concurrency_utilization" or "requests_per_second", but scaling_metric is "cpu_utilization"; remove scaling_buffer`}},
		{"buffer with rps metric", head + "[cerebrium.scaling]\nscaling_metric = \"requests_per_second\"\nscaling_buffer = 1\n",
			nil},
		{"gpus on cpu", head + "[cerebrium.hardware]\ngpu_count = 2\n",
			[]string{`cerebrium.toml:4:13: cerebrium.hardware.gpu_count: 2 GPUs need a GPU compute type, but compute is ["CPU"], the default; accepted with CPU: 0`}},

		// Endpoints and commands.
		{"healthcheck endpoint", head + "[cerebrium.runtime.custom]\nhealthcheck_endpoint = \"health\"\n",
			[]string{`cerebrium.toml:4:24: cerebrium.runtime.custom.healthcheck_endpoint: "health" must start with "/", like "/health" (or be "" to leave it unset)`}},
		{"readycheck endpoint", head + "[cerebrium.runtime.custom]\nreadycheck_endpoint = \"ready\"\n",
			[]string{`cerebrium.toml:4:23: cerebrium.runtime.custom.readycheck_endpoint: "ready" must start with "/", like "/ready" (or be "" to leave it unset)`}},
		{"entrypoint unterminated", head + "[cerebrium.runtime.custom]\nentrypoint = \"python 'main.py\"\n",
			[]string{`cerebrium.toml:4:22: cerebrium.runtime.custom.entrypoint: unterminated single quote (at character 8 of the command); quote or escape it like a POSIX shell would, or write the command as a list`}},
		{"entrypoint unterminated escaped", head + "[cerebrium.runtime.custom]\nentrypoint = \"python \\\"main.py\"\n",
			[]string{`cerebrium.toml:4:14: cerebrium.runtime.custom.entrypoint: unterminated double quote (at character 8 of the command); quote or escape it like a POSIX shell would, or write the command as a list`}},
		{"entrypoint backslash", head + "[cerebrium.runtime.custom]\nentrypoint = 'serve \\'\n",
			[]string{`cerebrium.toml:4:21: cerebrium.runtime.custom.entrypoint: the command ends with a lone backslash (at character 7 of the command); quote or escape it like a POSIX shell would, or write the command as a list`}},
		{"entrypoint empty", head + "[cerebrium.runtime.custom]\nentrypoint = []\n",
			[]string{`cerebrium.toml:4:14: cerebrium.runtime.custom.entrypoint: the command is empty; name the program to run, like ["./server"]`}},
		{"entrypoint blank", head + "[cerebrium.runtime.custom]\nentrypoint = \"  \"\n",
			[]string{`cerebrium.toml:4:14: cerebrium.runtime.custom.entrypoint: the command is empty; name the program to run, like ["./server"]`}},
		{"dockerfile path empty", head + "[cerebrium.runtime.custom]\ndockerfile_path = \"\"\n",
			[]string{`cerebrium.toml:4:19: cerebrium.runtime.custom.dockerfile_path: must not be empty; leave the key out instead`}},

		// Many at once, in order.
		{"several", head + "[cerebrium.scaling]\ncooldown = \"x\"\nmin_replicas = 1.5\n[cerebrium.hardware]\nmemroy = 1\n",
			[]string{
				`cerebrium.toml:4:12: cerebrium.scaling.cooldown: expected an integer number of seconds, got string "x"`,
				`cerebrium.toml:5:16: cerebrium.scaling.min_replicas: expected an integer, got float 1.5`,
				`cerebrium.toml:7:1: cerebrium.hardware.memroy: unknown key in [cerebrium.hardware]; did you mean "memory"?`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cerebrium.toml", []byte(tt.toml))
			var got []string
			if err != nil {
				var es Errors
				if !errors.As(err, &es) {
					t.Fatalf("Parse error is %T, want config.Errors: %v", err, err)
				}
				for _, e := range es {
					if e.File != "cerebrium.toml" {
						t.Errorf("error %q has File %q", e, e.File)
					}
					got = append(got, e.Error())
				}
				if err.Error() != strings.Join(got, "\n") {
					t.Errorf("Errors.Error() = %q, want one error per line", err.Error())
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) errors mismatch (-want +got):\n%s", tt.toml, diff)
			}
		})
	}
}

func TestErrorRendering(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.toml", Line: 3, Col: 7, Field: "cerebrium.x", Message: "bad"}, "a.toml:3:7: cerebrium.x: bad"},
		{Error{File: "a.toml", Message: "bad"}, "a.toml: bad"},
		{Error{File: "a.toml", Line: 2, Message: "bad"}, "a.toml:2: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	es := Errors{&tt0, &tt1}
	var target *Error
	if !errors.As(error(es), &target) || target != &tt0 {
		t.Errorf("errors.As(Errors, *Error) = %v, want the first error", target)
	}
}

var (
	tt0 = Error{File: "f", Line: 1, Col: 1, Message: "one"}
	tt1 = Error{File: "f", Message: "two"}
)

// TestErrorsHavePositions: every error of a file with problems throughout
// points at a line, except the one that truly has none.
func TestErrorsHavePositions(t *testing.T) {
	src := `[cerebrium.deployment]
name = "Bad Name"
include = "*"
[cerebrium.hardware]
compute = ["ADA_L4", 3]
gpu_count = 12
[cerebrium.scaling]
min_replicas = 5
max_replicas = 1
scaling_metric = "cpu_utilization"
scaling_buffer = 1
[cerebrium.runtime.custom]
port = 0
entrypoint = "a 'b"
[cerebrium.dependencies.pip]
x = 1
[extra]
`
	_, err := Parse("p.toml", []byte(src))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse: %v, want Errors", err)
	}
	if len(es) < 10 {
		t.Errorf("got %d errors, want at least 10:\n%v", len(es), err)
	}
	for _, e := range es {
		if e.Line == 0 || e.Col == 0 {
			t.Errorf("error without a position: %v", e)
		}
	}
}
