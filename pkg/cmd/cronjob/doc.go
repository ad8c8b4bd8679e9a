// Package cronjob implements the cronjob command: the ServiceAccount, the
// least Role and RoleBinding sync needs to read the SDR, and a CronJob that
// runs sync from the project's container image, printed or applied with
// server-side apply. Kubernetes schedules and retries; the tool does not.
package cronjob
