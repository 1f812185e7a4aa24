// Security settings of pods and containers.
import { bool, int64, obj, str, enumOf, type Schema } from '../../schema.js';
import { atomicList, core, coreRef } from './names.js';

const profileTypes = (what: string): Schema => enumOf(['Unconfined', 'RuntimeDefault', 'Localhost'], `Which ${what} profile to apply.`);

const linuxIdentity = (scope: string): Record<string, Schema> => ({
  seLinuxOptions: coreRef('SELinuxOptions', `SELinux context for ${scope}; random per container when unset.`),
  windowsOptions: coreRef('WindowsSecurityContextOptions', 'Windows-only settings; ignored on Linux.'),
  runAsUser: int64(`UID the processes of ${scope} run as; defaults to the image's user.`),
  runAsGroup: int64(`GID the processes of ${scope} run as; defaults to the runtime's.`),
  runAsNonRoot: bool('If true, refuse to start a container that would run as UID 0.'),
  seccompProfile: coreRef('SeccompProfile', 'Seccomp filter for the processes.'),
  appArmorProfile: coreRef('AppArmorProfile', 'AppArmor profile for the processes.'),
});

export const securityContextDefinitions: Record<string, Schema> = {
  [core('Capabilities')]: obj(
    {
      add: atomicList(str(), 'Capabilities to add, e.g. NET_ADMIN.'),
      drop: atomicList(str(), 'Capabilities to remove; ALL removes all.'),
    },
    { description: 'Linux capabilities added to or removed from the runtime\'s default set.' },
  ),
  [core('SELinuxOptions')]: obj(
    {
      user: str('SELinux user label.'),
      role: str('SELinux role label.'),
      type: str('SELinux type label.'),
      level: str('SELinux level label.'),
    },
    { description: 'SELinux labels for a container.' },
  ),
  [core('WindowsSecurityContextOptions')]: obj(
    {
      gmsaCredentialSpecName: str('Name of the GMSA credential spec to use.'),
      gmsaCredentialSpec: str('Inlined GMSA credential spec.'),
      runAsUserName: str('Windows user name to run as.'),
      hostProcess: bool('Run as a Windows host process.'),
    },
    { description: 'Windows-specific security options.' },
  ),
  [core('SeccompProfile')]: obj(
    { type: profileTypes('seccomp'), localhostProfile: str('Path of a profile on the node, relative to its seccomp profile root; only for type Localhost.') },
    { required: ['type'], description: 'A seccomp profile.' },
  ),
  [core('AppArmorProfile')]: obj(
    { type: profileTypes('AppArmor'), localhostProfile: str('Name of a profile loaded on the node; only for type Localhost.') },
    { required: ['type'], description: 'An AppArmor profile.' },
  ),
  [core('Sysctl')]: obj({ name: str('Name of the sysctl.'), value: str('Value to set.') }, { required: ['name', 'value'], description: 'A namespaced kernel parameter.' }),
  [core('SecurityContext')]: obj(
    {
      capabilities: coreRef('Capabilities', 'Capabilities to add or drop.'),
      privileged: bool('Run the container privileged: as root on the host, with all devices.'),
      ...linuxIdentity('the container'),
      readOnlyRootFilesystem: bool('Mount the container\'s root filesystem read-only.'),
      allowPrivilegeEscalation: bool('Whether a process may gain more privileges than its parent (no_new_privs off); always true when privileged or with CAP_SYS_ADMIN.'),
      procMount: enumOf(['Default', 'Unmasked'], 'How /proc is mounted: Default masks and makes parts of it read-only.'),
    },
    { description: 'Security settings of one container; they override the pod\'s where both are set.' },
  ),
  [core('PodSecurityContext')]: obj(
    {
      ...linuxIdentity('every container'),
      supplementalGroups: atomicList(int64(), 'Extra groups for the first process of every container.'),
      supplementalGroupsPolicy: enumOf(['Merge', 'Strict'], 'Whether the groups of /etc/group in the image are added (Merge) or not (Strict).'),
      fsGroup: int64('A group that owns the pod\'s volumes and is added to every container\'s processes.'),
      fsGroupChangePolicy: enumOf(['OnRootMismatch', 'Always'], 'When volume ownership is changed to fsGroup.'),
      sysctls: atomicList(coreRef('Sysctl'), 'Namespaced sysctls set for the pod.'),
      seLinuxChangePolicy: str('How SELinux labels are applied to volumes: Recursive or MountOption.'),
    },
    { description: 'Security settings for all containers of a pod.' },
  ),
};

