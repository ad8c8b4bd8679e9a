package sdr

import (
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// BlockMode says what sync does with the map's release: block.
type BlockMode string

// The --release-block modes.
const (
	// BlockAuto writes the block when the release name or storage
	// namespace differs from the default, and removes it otherwise.
	BlockAuto BlockMode = "auto"
	// BlockKeep leaves the map's block as it is.
	BlockKeep BlockMode = "keep"
	// BlockRemove removes the block.
	BlockRemove BlockMode = "remove"
)

// BlockModes are the accepted --release-block values.
var BlockModes = []string{string(BlockAuto), string(BlockKeep), string(BlockRemove)}

// ParseBlockMode checks a --release-block value.
func ParseBlockMode(s string) (BlockMode, error) {
	switch m := BlockMode(s); m {
	case BlockAuto, BlockKeep, BlockRemove:
		return m, nil
	}
	return "", fmt.Errorf("%s %q: must be one of auto, keep, remove", setting.ReleaseBlock, s)
}

// Managers of an SDR release.
const (
	ManagedByHelm = "helm"
	ManagedByFlux = "flux"
)

// ReleaseInfo is the SDR release as diff and sync report it in JSON under
// "release".
type ReleaseInfo struct {
	Name             string            `json:"name"`
	Namespace        string            `json:"namespace"`
	StorageNamespace string            `json:"storageNamespace"`
	ManagedBy        string            `json:"managedBy"`
	Block            *imagemap.Release `json:"block"`
}

// DefaultReleaseName is the SDR's own idea of its release name.
func DefaultReleaseName(deploymentName string) string { return DefaultReleasePrefix + deploymentName }

// DecideBlock returns the release: block the map should carry (nil for
// none). In auto mode the block is written when the release name is not
// atlan-sdr-<deployment> or the records are not stored in the SDR's
// namespace; with an unknown deployment name it is written, since a
// correct block is always safe for the SDR.
func DecideBlock(mode BlockMode, name, namespace, storageNamespace, deploymentName string, current *imagemap.Release) *imagemap.Release {
	switch mode {
	case BlockKeep:
		return current
	case BlockRemove:
		return nil
	}
	if deploymentName != "" && name == DefaultReleaseName(deploymentName) && storageNamespace == namespace {
		return nil
	}
	return &imagemap.Release{Name: name, StorageNamespace: storageNamespace}
}

// Release describes the installation's release and the block the map
// should carry, given the map's current block.
func (inst *Installation) Release(mode BlockMode, current *imagemap.Release) ReleaseInfo {
	info := ReleaseInfo{
		Name:             inst.Record.Name,
		Namespace:        inst.Namespace,
		StorageNamespace: inst.Record.StorageNamespace,
		ManagedBy:        ManagedByHelm,
	}
	if inst.Flux != nil {
		info.ManagedBy = ManagedByFlux
	}
	info.Block = DecideBlock(mode, info.Name, info.Namespace, info.StorageNamespace, inst.Settings.DeploymentName, current)
	return info
}
