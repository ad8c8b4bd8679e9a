// Package ui renders what the commands print: the colour decision, one
// palette of named styles, tables, and JSON/YAML encoders. It is the only
// package that knows about colour or terminals.
package ui
