package testsdr

import (
	"sort"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
)

// WantImages is the exact inventory of the plain-Helm layout: the SDR
// release and both connector apps in Namespace, every image with every
// object it appears in. releases limits it to some of the releases (nil:
// all three).
func WantImages(releases ...string) []inventory.Item {
	use := map[string]bool{}
	for _, r := range releases {
		use[r] = true
	}
	all := len(releases) == 0
	why := map[string][]string{}
	add := func(release, image, kind, name string) {
		if all || use[release] {
			why[image] = append(why[image], inventory.HelmReason(Namespace, release, kind, name))
		}
	}
	add(Release, "atlanhq/atlan-sdr-init:1.4.0", "Deployment", Release)
	add(Release, "atlanhq/atlan-sdr:1.4.0", "Deployment", Release)
	add(Release, "daprio/daprd:1.14.4", "Deployment", Release)
	add(Release, "atlanhq/atlan-sdr-reconciler:1.4.0", "CronJob", Release+"-reconcile")
	add(Release, "atlanhq/atlan-sdr-migrate:1.4.0", "Job", Release+"-migrate") // a hook
	for _, app := range []struct{ release, version, main string }{
		{"teradata", "3.1.4", "atlanhq/atlan-teradata-app:3.1.4"},
		{"postgres", "2.0.1", "registry.mycompany.com/atlan/atlan-postgres-app:2.0.1"},
	} {
		r, v, img := app.release, app.version, "atlanhq/atlan-"+app.release
		add(r, "atlanhq/atlan-app-init:1.0.0", "Deployment", r)
		add(r, app.main, "Deployment", r)
		add(r, "daprio/daprd:1.14.4", "Deployment", r)
		add(r, img+"-store:"+v, "StatefulSet", r+"-store")
		add(r, img+"-agent:"+v, "DaemonSet", r+"-agent")
		add(r, img+"-replica:"+v, "ReplicaSet", r+"-replica")
		add(r, img+"-legacy:"+v, "ReplicationController", r+"-legacy")
		add(r, img+"-job:"+v, "Job", r+"-extract")
		add(r, "atlanhq/atlan-app-init:1.0.0", "CronJob", r+"-schedule")
		add(r, img+"-cron:"+v, "CronJob", r+"-schedule")
		add(r, img+"-probe:"+v, "Pod", r+"-probe")
		add(r, img+"-workflow:"+v, "ConnectorRun", r+"-run")
		add(r, img+"-fetch:"+v, "ConnectorRun", r+"-run")
		add(r, img+"-hook:"+v, "Job", r+"-register") // a hook
	}
	out := make([]inventory.Item, 0, len(why))
	for img, w := range why {
		sort.Strings(w)
		out = append(out, inventory.Item{Image: img, Why: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Image < out[j].Image })
	return out
}
