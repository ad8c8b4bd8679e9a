package cronjob

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

// Paths inside the container. The root filesystem is read-only: HOME and
// temporary files go to an emptyDir.
const (
	tmpDir         = "/tmp"
	registryDir    = "/var/run/sdr-mirror/registry"
	registryFile   = "config.json"
	caDir          = "/var/run/sdr-mirror/ca"
	caFile         = "ca.crt"
	dockerJSONKey  = corev1.DockerConfigJsonKey
	containerName  = "sync"
	nonRootUID     = 65532
	appLabel       = "app.kubernetes.io/name"
	managedByLabel = "app.kubernetes.io/managed-by"
	appName        = "kubectl-sdr-mirror"
)

// Spec is what the manifests are made from.
type Spec struct {
	// Name of the ServiceAccount, Role, RoleBinding and CronJob.
	Name string
	// Namespace is the SDR's: the CronJob runs there and reads its secrets.
	Namespace string
	// StorageNamespace holds the SDR's Helm release records when it is
	// not Namespace ("" when it is).
	StorageNamespace string
	// HelmDriver is sdr.DriverSecret or sdr.DriverConfigMap.
	HelmDriver string
	// Flux grants listing Flux HelmReleases in Namespace.
	Flux     bool
	Schedule string
	// TimeZone is the IANA zone Schedule is read in.
	TimeZone string
	// ActiveDeadlineSeconds bounds one run, so a hung run cannot block
	// later ones (concurrencyPolicy Forbid).
	ActiveDeadlineSeconds int64
	Image                 string
	// RegistrySecret names a kubernetes.io/dockerconfigjson Secret with
	// the registries' credentials ("" for none).
	RegistrySecret string
	// CAConfigMap names a ConfigMap whose key CAKey holds PEM CA
	// certificates trusted for the registries and the bucket ("" for
	// none).
	CAConfigMap string
	CAKey       string
	// TokenSecret and TokenKey locate ATLAN_API_TOKEN ("" for none).
	TokenSecret string
	TokenKey    string
	// ObjectstoreSecrets are the Secrets the SDR's objectstore component
	// names in secretKeyRefs: the only Secrets the Role lets sync get.
	ObjectstoreSecrets []string
	// Args are sync's arguments after "sync".
	Args []string
}

func (s Spec) labels() map[string]string {
	return map[string]string{appLabel: appName, managedByLabel: appName}
}

func (s Spec) meta(namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: s.Name, Namespace: namespace, Labels: s.labels()}
}

// recordsResource is where Helm keeps release records for the driver.
func (s Spec) recordsResource() string {
	if s.HelmDriver == sdr.DriverConfigMap {
		return "configmaps"
	}
	return "secrets"
}

// Rules are the least permissions sync needs in the SDR's namespace: list
// the Helm release records (Secrets or ConfigMaps), get the Secrets the
// objectstore component's secretKeyRefs name (by name: no other Secret), and,
// with Flux, list HelmReleases. pkg/sdr reads nothing else from the cluster.
// The registry, token and CA objects reach the pod as volumes and
// environment, which needs no permission of the ServiceAccount.
//
// With the secret driver Helm's records are Secrets, found by their labels:
// RBAC cannot narrow a list to labelled objects, so reading the releases
// needs list on Secrets there. Only the configmap driver avoids it.
func (s Spec) Rules() []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{s.recordsResource()}, Verbs: []string{"list"}})
	if len(s.ObjectstoreSecrets) > 0 {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"},
			ResourceNames: s.ObjectstoreSecrets})
	}
	if s.Flux {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{sdr.HelmReleaseGVR.Group}, Resources: []string{sdr.HelmReleaseGVR.Resource}, Verbs: []string{"list"}})
	}
	return rules
}

// Objects returns the manifests in the order they are applied.
func (s Spec) Objects() []runtime.Object {
	sa := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: s.meta(s.Namespace),
	}
	objs := []runtime.Object{sa}
	objs = append(objs, s.role(s.Namespace, s.Rules())...)
	if s.StorageNamespace != "" && s.StorageNamespace != s.Namespace {
		objs = append(objs, s.role(s.StorageNamespace, []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{s.recordsResource()}, Verbs: []string{"list"}},
		})...)
	}
	return append(objs, s.cronJob())
}

func (s Spec) role(namespace string, rules []rbacv1.PolicyRule) []runtime.Object {
	role := &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: s.meta(namespace),
		Rules:      rules,
	}
	binding := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: s.meta(namespace),
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: s.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: s.Name, Namespace: s.Namespace}},
	}
	return []runtime.Object{role, binding}
}

func (s Spec) cronJob() *batchv1.CronJob {
	args := append([]string{"sync"}, s.Args...)
	env := []corev1.EnvVar{{Name: "HOME", Value: tmpDir}, {Name: "TMPDIR", Value: tmpDir}}
	mounts := []corev1.VolumeMount{{Name: "tmp", MountPath: tmpDir}}
	volumes := []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if s.RegistrySecret != "" {
		args = append(args, "--registry-auth-file", registryDir+"/"+registryFile)
		mounts = append(mounts, corev1.VolumeMount{Name: "registry-auth", MountPath: registryDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "registry-auth", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: s.RegistrySecret,
			Items:      []corev1.KeyToPath{{Key: dockerJSONKey, Path: registryFile}},
		}}})
	}
	if s.CAConfigMap != "" {
		ca := caDir + "/" + caFile
		args = append(args, "--registry-ca-file", ca, "--bucket-ca-file", ca)
		mounts = append(mounts, corev1.VolumeMount{Name: "ca-bundle", MountPath: caDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "ca-bundle", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.CAConfigMap},
			Items:                []corev1.KeyToPath{{Key: s.CAKey, Path: caFile}},
		}}})
	}
	if s.TokenSecret != "" {
		env = append(env, corev1.EnvVar{Name: "ATLAN_API_TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: s.TokenSecret}, Key: s.TokenKey},
		}})
	}
	yes, no := true, false
	uid := int64(nonRootUID)
	container := corev1.Container{
		Name:         containerName,
		Image:        s.Image,
		Args:         args,
		Env:          env,
		VolumeMounts: mounts,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &yes,
			RunAsUser:                &uid,
			RunAsGroup:               &uid,
			ReadOnlyRootFilesystem:   &yes,
			AllowPrivilegeEscalation: &no,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	history, backoff := int32(3), int32(2)
	deadline := int64(300)
	var pullSecrets []corev1.LocalObjectReference
	if s.RegistrySecret != "" {
		pullSecrets = []corev1.LocalObjectReference{{Name: s.RegistrySecret}}
	}
	var timeZone *string
	if s.TimeZone != "" {
		timeZone = &s.TimeZone
	}
	var activeDeadline *int64
	if s.ActiveDeadlineSeconds > 0 {
		activeDeadline = &s.ActiveDeadlineSeconds
	}
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: s.meta(s.Namespace),
		Spec: batchv1.CronJobSpec{
			Schedule:                   s.Schedule,
			TimeZone:                   timeZone,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    &deadline,
			SuccessfulJobsHistoryLimit: &history,
			FailedJobsHistoryLimit:     &history,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: s.labels()},
				Spec: batchv1.JobSpec{
					BackoffLimit:          &backoff,
					ActiveDeadlineSeconds: activeDeadline,
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: s.labels()},
						Spec: corev1.PodSpec{
							ServiceAccountName: s.Name,
							ImagePullSecrets:   pullSecrets,
							RestartPolicy:      corev1.RestartPolicyNever,
							SecurityContext: &corev1.PodSecurityContext{
								RunAsNonRoot:   &yes,
								SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
							},
							Containers: []corev1.Container{container},
							Volumes:    volumes,
						},
					},
				},
			},
		},
	}
}
