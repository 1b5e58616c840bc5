package config_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/ebb-run/ebb/config"
)

func ExampleParse() {
	src := `[cerebrium.deployment]
name = "hello"

[cerebrium.scaling]
coldown = 30
max_replicas = "3"
`
	_, err := config.Parse("cerebrium.toml", []byte(src))
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
		}
	}
	// Output:
	// cerebrium.toml:5:1: cerebrium.scaling.coldown: unknown key in [cerebrium.scaling]; did you mean "cooldown"?
	// cerebrium.toml:6:16: cerebrium.scaling.max_replicas: expected an integer, got string "3"
}

func ExampleConfig_WriteTOML() {
	cfg, err := config.Parse("cerebrium.toml", []byte("[cerebrium.deployment]\nname = \"tiny\"\n[cerebrium.hardware]\ncompute = \"ADA_L4\"\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cfg.WriteTOML(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// [cerebrium.deployment]
	// name = "tiny"
	// include = ["*"]
	// exclude = [".*"]
	// disable_auth = true
	// use_uv = false
	// deployment_initialization_timeout = 600 # seconds
	//
	// [cerebrium.hardware]
	// cpu = 2.0
	// memory = 4.0 # GB
	// compute = ["ADA_L4"]
	// gpu_count = 1
	//
	// [cerebrium.scaling]
	// min_replicas = 0
	// max_replicas = 1
	// cooldown = 10 # seconds
	// replica_concurrency = 1
	// response_grace_period = 900 # seconds
	// scaling_metric = "concurrency_utilization"
	// scaling_target = 100
	// scaling_buffer = 0
	// evaluation_interval_seconds = 30
	// load_balancing_algorithm = "" # auto: first-available
	// roll_out_duration_seconds = 0
	//
	// [cerebrium.runtime.custom]
	// port = 8000
	// healthcheck_endpoint = ""
	// readycheck_endpoint = "" # TCP check on the port
}

func ExampleDockerfileCommand() {
	cmd := config.DockerfileCommand("Dockerfile", []byte(`FROM golang:1.26 AS build
RUN go build -o /server .
FROM debian:bookworm-slim
COPY --from=build /server /app/server
ENTRYPOINT ["ebb", "run", "--"]
CMD ["/app/server"]
`))
	fmt.Println(cmd.Argv)
	fmt.Println(cmd.Source)
	// Output:
	// [ebb run -- /app/server]
	// Dockerfile ENTRYPOINT (Dockerfile:5) + CMD (Dockerfile:6)
}
