// vm.add-net on a VM that is not running: the net joins its config and is built at the next boot.
// Cloud Hypervisor's clients (libvirt) send the tap's descriptors with the request (SCM_RIGHTS); they
// take the place of any `fds` in the body, which would name descriptors of the client, not of the VMM.
import { invalid, isObject } from './config-fields.js';
import { checkVirtioDeviceCount, type VmConfig } from './config.js';
import { parseNets } from './net-config.js';
import { closeFds } from '../host/fd-passing-socket.js';

export function withAddedNet(config: VmConfig, body: unknown, passedFds: readonly number[]): VmConfig {
  if (!isObject(body)) throw invalid('vm.add-net needs a NetConfig object');
  if (passedFds.length === 0 && body.fds !== undefined && body.fds !== null) {
    throw invalid('vm.add-net: fds must come with the request as descriptors (SCM_RIGHTS), not as numbers in the body');
  }
  const added = passedFds.length > 0 ? { ...body, fds: [...passedFds] } : body;
  const net = parseNets([...(config.net ?? []), added]);
  const withNet = { ...config, net };
  checkVirtioDeviceCount(withNet);
  return withNet;
}

/** The tap descriptors a config holds (add-net's, or a body's `fds`): the config owns them until it is deleted. */
function heldNetFds(config: VmConfig | null): number[] {
  return (config?.net ?? []).flatMap((net) => net.fds ?? []);
}

/** Closes the tap descriptors `config` holds; the config that returns names none (so none closes twice). */
export function releaseNetFds(config: VmConfig): VmConfig {
  closeFds(heldNetFds(config));
  return config.net?.some((net) => net.fds) ? { ...config, net: config.net.map(({ fds: _closed, ...net }) => net) } : config;
}
