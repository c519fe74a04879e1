/**
 * The three seams a node reaches the outside world through, as one value handed down from where
 * the node is made: the real ones in a process, simulated ones (src/sim/) in a test that runs a
 * cluster in one process.
 */
import { type Clock, systemClock } from './clock.js';
import { type Disk, hostDisk } from './disk.js';
import { type Network, tcpNetwork } from './network.js';

export interface Io {
  clock: Clock;
  network: Network;
  disk: Disk;
}

/** This process's clock, TCP on this host, and its filesystem. */
export const hostIo: Io = { clock: systemClock, network: tcpNetwork, disk: hostDisk };
