// Package cli assembles the root command: global flags, the kubectl and
// Helm plugin front doors, and the single place where errors become exit
// codes.
package cli
