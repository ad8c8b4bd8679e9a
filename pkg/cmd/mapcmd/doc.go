// Package mapcmd implements the map command and its verbs: get, validate,
// set and rm, on a local file or an object in a bucket.
package mapcmd
