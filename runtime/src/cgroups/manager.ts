// The one cgroup interface the runtime uses; v1 and v2 implementations live beside
// it (see ../../../shared/STYLE.md, youki's libcgroups). Filled in by the cgroups work.
export {};
