package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"sort"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/config"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/spf13/cobra"
)

func serveCmd(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (HTTPS on 127.0.0.1:8443 by default)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := load(cmd, cfg); err != nil {
				return err
			}
			log := logger(cfg.LogLevel)
			ctx, stop := signalContext()
			defer stop()
			a, err := app.New(ctx, *cfg, log, app.Options{})
			if err != nil {
				return err
			}
			defer a.Close()
			creds, err := a.Bootstrap(ctx)
			if err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
			if creds != nil {
				printCredentials(creds, cfg.DataDir)
				// The first run hashed a password (19 MiB of argon2 memory);
				// give it back so the idle server stays small.
				debug.FreeOSMemory()
			}
			tlsCfg, caFile, err := a.TLSConfig()
			if err != nil {
				return err
			}
			if caFile != "" {
				fmt.Fprintf(os.Stderr, "TLS: local CA certificate at %s (trust it, e.g. SSL_CERT_FILE=%s or curl --cacert)\n", caFile, caFile)
			}
			return a.Serve(ctx, tlsCfg, func(addr net.Addr) {
				log.Info("listening", "addr", addr.String(), "public_url", cfg.PublicURL)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on")
	f.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "URL clients use (issuer host, @odata.nextLink); default https://<listen>")
	f.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "TLS certificate file (PEM); a local CA is generated when empty")
	f.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "TLS private key file (PEM)")
	f.BoolVar(&cfg.PlainHTTP, "plain-http", cfg.PlainHTTP, "serve plain HTTP behind a TLS-terminating proxy (set --public-url to the proxy's https URL)")
	f.StringVar(&cfg.DNSServer, "dns-server", cfg.DNSServer, "DNS server (host:port) for domain verification; system resolver when empty")
	f.StringVar(&cfg.InitialDomainSuffix, "initial-domain-suffix", cfg.InitialDomainSuffix, "suffix of tenants' initial domains")
	return cmd
}

func printCredentials(c *directory.TenantCredentials, dataDir string) {
	fmt.Fprintf(os.Stderr, `
First run: created tenant %s (%s).
  admin:         %s
  password:      %s
  client id:     %s
  client secret: %s
These are shown once and saved to %s/bootstrap.json (mode 0600).

`, c.TenantID, c.Domain, c.AdminUserPrincipalName, c.AdminPassword, c.ClientID, c.ClientSecret, dataDir)
}

func migrateCmd(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := load(cmd, cfg); err != nil {
				return err
			}
			db, err := app.OpenStore(cmd.Context(), *cfg)
			if err != nil {
				return err
			}
			defer db.Close()
			fmt.Fprintln(os.Stderr, "migrations applied")
			return nil
		},
	}
}

func tenantCmd(cfg *config.Config) *cobra.Command {
	var spec directory.TenantSpec
	var noSecDefaults bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create another tenant on this server's store and print its credentials once",
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec.SecurityDefaults = !noSecDefaults
			return withApp(cmd, cfg, func(ctx context.Context, a *app.App) error {
				creds, err := a.Directory().CreateTenant(ctx, spec)
				if err != nil {
					return err
				}
				return json.NewEncoder(os.Stdout).Encode(creds)
			})
		},
	}
	f := create.Flags()
	f.StringVar(&spec.Name, "name", "", "initial domain label (<name>.<suffix>)")
	f.StringVar(&spec.DisplayName, "display-name", "", "organization display name")
	f.StringVar(&spec.TenantID, "tenant-id", "", "fixed tenant id (GUID)")
	f.StringVar(&spec.AdminUPN, "admin-upn", "", "admin user principal name")
	f.StringVar(&spec.ClientID, "client-id", "", "fixed client id of the bootstrap application")
	f.BoolVar(&noSecDefaults, "no-security-defaults", false, "create the tenant with security defaults off")
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants"}
	cmd.AddCommand(create)
	return cmd
}

func adminCmd(cfg *config.Config) *cobra.Command {
	var tenantID string
	recover := &cobra.Command{
		Use:   "recover",
		Short: "Offline: issue a new Global Administrator credential when every admin is locked out",
		Long: "Runs against the server's own store (stop the server first on SQLite). It resets the password of a\n" +
			"Global Administrator, re-enabling the account, or creates a new one if none is left, and prints it once.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTenant(cmd, cfg, &tenantID, func(ctx context.Context, a *app.App) error {
				upn, pw, err := a.Directory().RecoverAdmin(ctx, tenantID)
				if err != nil {
					return err
				}
				fmt.Printf("tenant:   %s\nadmin:    %s\npassword: %s\n", tenantID, upn, pw)
				return nil
			})
		},
	}
	recover.Flags().StringVar(&tenantID, "tenant", "", "tenant id (required when the store holds several)")
	cmd := &cobra.Command{Use: "admin", Short: "Administer the server offline"}
	cmd.AddCommand(recover)
	return cmd
}

func withApp(cmd *cobra.Command, cfg *config.Config, fn func(ctx context.Context, a *app.App) error) error {
	if err := load(cmd, cfg); err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	a, err := app.New(ctx, *cfg, logger(cfg.LogLevel), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(ctx, a)
}

// withTenant is withApp for commands about one tenant: --tenant, or the
// store's only tenant when the flag is empty.
func withTenant(cmd *cobra.Command, cfg *config.Config, tenantID *string, fn func(ctx context.Context, a *app.App) error) error {
	return withApp(cmd, cfg, func(ctx context.Context, a *app.App) error {
		if *tenantID == "" {
			id, err := a.SoleTenant(ctx)
			if err != nil {
				return err
			}
			*tenantID = id
		}
		return fn(ctx, a)
	})
}

func accessCmd(cfg *config.Config) *cobra.Command {
	var tenantID string
	var q directory.AccessQuestion
	var asJSON bool
	explain := &cobra.Command{
		Use:   "explain",
		Short: "Offline: explain whether a principal may perform an action on a target, and why",
		Long: "Reads the server's own store and prints the directory's decision with its reasons: which\n" +
			"assignment granted it, through which group and at which scope, or why none applied.\n" +
			"The online equivalent is POST /ostiary/v1/access/explain.",
		Example: "  ostiary access explain --principal <user-id> --action microsoft.directory/users/password/update --target <user-id>",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTenant(cmd, cfg, &tenantID, func(ctx context.Context, a *app.App) error {
				ans, err := a.Directory().ExplainAccess(ctx, iam.System(tenantID), q)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(os.Stdout).Encode(ans)
				}
				verdict := "denied"
				if ans.Decision.Allowed {
					verdict = "allowed"
				}
				fmt.Printf("%s: %s %s", verdict, ans.Principal.Kind, ans.Principal.ID)
				if ans.Decision.Allowed {
					fmt.Printf(" may %s", q.Action)
				} else {
					fmt.Printf(" may not %s", q.Action)
				}
				if ans.Target.ID != "" {
					fmt.Printf(" on %s %s", ans.Target.Kind, ans.Target.ID)
				}
				fmt.Println()
				for _, r := range ans.Decision.Reasons {
					fmt.Println("  -", r.String())
				}
				return nil
			})
		},
	}
	f := explain.Flags()
	f.StringVar(&tenantID, "tenant", "", "tenant id (required when the store holds several)")
	f.StringVar(&q.PrincipalID, "principal", "", "object id of the user or service principal")
	f.StringVar(&q.Action, "action", "", "Entra action, e.g. microsoft.directory/users/password/update")
	f.StringVar(&q.TargetID, "target", "", "object id (or a user's UPN) of the target; empty for creates")
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	cmd := &cobra.Command{Use: "access", Short: "Troubleshoot access decisions"}
	cmd.AddCommand(explain)
	return cmd
}

func mfaCmd(cfg *config.Config) *cobra.Command {
	var tenantID string
	var asJSON bool
	unregistered := &cobra.Command{
		Use:   "unregistered",
		Short: "Offline: list the users who cannot do multifactor authentication yet",
		Long: "Reads the server's own store and prints every user with no authenticator app and no passkey,\n" +
			"administrators first: under security defaults they are asked to register at their next sign-in.\n" +
			"The online equivalent is GET /v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=isMfaCapable eq false.",
		Example: "  ostiary mfa unregistered --tenant <tenant-id>",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTenant(cmd, cfg, &tenantID, func(ctx context.Context, a *app.App) error {
				rows, err := a.AuthMethods().MFAUnregistered(ctx, tenantID)
				if err != nil {
					return err
				}
				// Administrators first: they are the accounts to fix first.
				sort.SliceStable(rows, func(i, j int) bool { return rows[i].IsAdmin && !rows[j].IsAdmin })
				if asJSON {
					if rows == nil {
						rows = []authmethods.RegistrationDetails{}
					}
					return json.NewEncoder(os.Stdout).Encode(rows)
				}
				for _, r := range rows {
					admin := ""
					if r.IsAdmin {
						admin = "  (administrator)"
					}
					fmt.Printf("%s  %s  %s%s\n", r.ID, r.UserType, r.UserPrincipalName, admin)
				}
				fmt.Fprintf(os.Stderr, "%d user(s) cannot do multifactor authentication yet\n", len(rows))
				return nil
			})
		},
	}
	f := unregistered.Flags()
	f.StringVar(&tenantID, "tenant", "", "tenant id (required when the store holds several)")
	f.BoolVar(&asJSON, "json", false, "print the users as userRegistrationDetails JSON")
	cmd := &cobra.Command{Use: "mfa", Short: "Multifactor authentication"}
	cmd.AddCommand(unregistered)
	return cmd
}
