package cronjob

// SetBuildVersion makes the command see version v as this binary's, for the
// tests of package cronjob_test; the returned func restores it.
func SetBuildVersion(v string) (restore func()) {
	saved := buildVersion
	buildVersion = func() string { return v }
	return func() { buildVersion = saved }
}
