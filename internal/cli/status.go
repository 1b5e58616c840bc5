//go:build !shim

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ebb-run/ebb/internal/platform"
	"github.com/ebb-run/ebb/internal/platform/client"
)

func newStatusCmd() *cobra.Command {
	var (
		admin  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status [APP]",
		Short: "Show the apps, revisions and replicas of a running ebb up",
		Long: `ebb status shows each app with its revisions and each replica with its id,
revision, state (starting, ready, draining, stopped), pid, port, in-flight
count and age. --json prints the same as JSON.

It talks to the admin API at --admin, else $` + client.AdminEnv + `, else ` + platform.DefaultAdmin + `.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := client.New(client.Addr(admin))
			var st platform.Status
			if len(args) == 1 {
				a, err := c.App(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("ebb status: %w", err)
				}
				st.Apps = []platform.AppStatus{a}
			} else {
				var err error
				if st, err = c.Status(cmd.Context()); err != nil {
					return fmt.Errorf("ebb status: %w", err)
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if len(args) == 1 {
					return enc.Encode(st.Apps[0])
				}
				return enc.Encode(st)
			}
			printStatus(out, st)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "", "admin API address (default $"+client.AdminEnv+" or "+platform.DefaultAdmin+")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStatus(out io.Writer, st platform.Status) {
	for i, a := range st.Apps {
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "%s  %s\n", a.Name, a.URL)
		fmt.Fprintf(out, "  replicas: %d ready of %d desired (min %d, max %d); %d in flight, %d queued, %d requests\n",
			a.Ready, a.Desired, a.Min, a.Max, a.InFlight, a.Queued, a.Requests)
		if sc := a.Scaling; sc != nil {
			fmt.Fprintf(out, "  autoscaling: %s %.2f %s (target %.2f per replica) → %d replicas, since %s\n    %s\n",
				sc.Metric, sc.Value, sc.Unit, sc.Target, sc.Desired, sc.Changed.Format(time.TimeOnly), sc.Reason)
		}
		if a.LastEvent != "" {
			fmt.Fprintf(out, "  last: %s\n", a.LastEvent)
		}
		if a.Failing != "" {
			fmt.Fprintf(out, "  FAILING: %s\n", strings.TrimSpace(a.Failing))
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  REPLICA\tREVISION\tSTATE\tPID\tPORT\tIN FLIGHT\tAGE\tRESTARTS\tCOLD START")
		for _, v := range a.Revisions {
			for _, r := range v.Replicas {
				state := r.State.String()
				if r.State == platform.Ready && !r.Routable {
					state += " (unroutable)"
				}
				fmt.Fprintf(tw, "  %s\t%d (%d%%)\t%s\t%d\t%d\t%d/%d\t%s\t%d\t%s\n", r.ID, v.N, v.Weight, state,
					r.PID, r.Port, r.InFlight, r.Capacity, age(r.AgeSeconds), r.Restarts,
					time.Duration(r.ColdStartSeconds*float64(time.Second)).Round(time.Millisecond))
			}
		}
		tw.Flush()
	}
}

func age(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
