// Command ostiary is Ostiary's single binary: `ostiary serve` runs the
// server; the other subcommands administer it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ostiary/ostiary/internal/config"
	"github.com/spf13/cobra"
)

func main() {
	if err := root().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ostiary:", err)
		os.Exit(1)
	}
}

func root() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:           "ostiary",
		Short:         "A self-hosted identity server compatible with Microsoft Entra ID",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (SQLite database, TLS files, master key, bootstrap.json)")
	f.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL URL (postgres://…); SQLite in the data directory when empty")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	cmd.AddCommand(serveCmd(&cfg), migrateCmd(&cfg), tenantCmd(&cfg), adminCmd(&cfg), accessCmd(&cfg), mfaCmd(&cfg))
	return cmd
}

// load applies the environment under the flags the user set explicitly,
// then validates.
func load(cmd *cobra.Command, cfg *config.Config) error {
	flags := *cfg
	if err := cfg.FromEnv(os.Getenv); err != nil {
		return err
	}
	// Flags given on the command line win over the environment.
	cmd.Flags().Visit(func(fl *pflagFlag) { reapply(fl.Name, &flags, cfg) })
	if err := cfg.LoadBootstrapFile(); err != nil {
		return err
	}
	return cfg.Validate()
}

func logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
