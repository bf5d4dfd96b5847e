package main

import (
	"github.com/ostiary/ostiary/internal/config"
	"github.com/spf13/pflag"
)

type pflagFlag = pflag.Flag

// reapply copies the value of one explicitly set flag from flags into cfg,
// so a command-line flag overrides the environment.
func reapply(name string, flags, cfg *config.Config) {
	switch name {
	case "data-dir":
		cfg.DataDir = flags.DataDir
	case "database-url":
		cfg.DatabaseURL = flags.DatabaseURL
	case "log-level":
		cfg.LogLevel = flags.LogLevel
	case "listen":
		cfg.Listen = flags.Listen
	case "public-url":
		cfg.PublicURL = flags.PublicURL
	case "tls-cert":
		cfg.TLSCert = flags.TLSCert
	case "tls-key":
		cfg.TLSKey = flags.TLSKey
	case "plain-http":
		cfg.PlainHTTP = flags.PlainHTTP
	case "dns-server":
		cfg.DNSServer = flags.DNSServer
	case "initial-domain-suffix":
		cfg.InitialDomainSuffix = flags.InitialDomainSuffix
	}
}
