// Package verifyflags holds the signature gate's flags shared by sync,
// diff and verify: on or off, the accepted identity and issuer or a key,
// and where the trusted root comes from.
package verifyflags
