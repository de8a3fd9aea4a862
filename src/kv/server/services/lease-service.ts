/**
 * lease-service: etcdserverpb.Lease. Grants and revocations go through Raft; keep-alives and
 * time-to-live are answered by the leader, which alone knows deadlines — a follower relays a
 * keep-alive stream to the leader and forwards the unary calls.
 */
import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { loadProtoDefinitions, requestDecoders } from '../../proto/index.js';
import type { LeaseHandlers, LeaseGrantResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse, LeaseLeasesResponse, LeaseKeepAliveResponse } from '../../proto/index.js';
import type { KvServer } from '../kv-server.js';
import { etcdError, toServiceError } from '../errors.js';
import { leaseId, leaseOf } from '../convert.js';
import { MAX_LEASE_TTL } from '../../lease/lessor.js';
import { decoded, expectKind, unary } from './common.js';

function newLeaseId(s: KvServer): string {
  for (;;) {
    const id = randomBytes(8).readBigInt64BE(0) & 0x7fffffffffffffffn;
    if (id !== 0n && !s.sm.lessor.has(id)) return leaseId(id);
  }
}

/** leaseService builds the Lease handlers of a member. */
export function leaseService(s: KvServer): LeaseHandlers {
  return {
    LeaseGrant: unary<LeaseGrantResponse>(async (raw) => {
      const req = decoded(requestDecoders.LeaseGrantRequest(raw));
      if (req.TTL > MAX_LEASE_TTL) throw etcdError('lease-ttl-too-large');
      const id = req.ID === '0' ? newLeaseId(s) : req.ID;
      const r = expectKind(await s.submitWire('lease-grant', { TTL: req.TTL, ID: id }), 'lease-grant');
      return { header: s.header(), ID: leaseId(r.lease.id), TTL: r.lease.ttl, error: '' };
    }),
    LeaseRevoke: unary<LeaseRevokeResponse>(async (raw) => {
      decoded(requestDecoders.LeaseRevokeRequest(raw));
      const r = expectKind(await s.submitWire('lease-revoke', raw as object), 'lease-revoke');
      return { header: s.header(r.revision) };
    }),
    LeaseTimeToLive: unary<LeaseTimeToLiveResponse>(async (raw) => {
      const req = decoded(requestDecoders.LeaseTimeToLiveRequest(raw));
      if (!s.isLeader()) return (await s.forward('Lease', 'LeaseTimeToLive', raw)) as LeaseTimeToLiveResponse;
      const id = leaseOf(req.ID);
      const lease = s.sm.lessor.get(id);
      if (lease === undefined) return { header: s.header(), ID: req.ID, TTL: -1, grantedTTL: 0, keys: [] };
      const remaining = s.sm.lessor.remaining(id, s.now()) ?? lease.ttl;
      const keys = req.keys ? s.sm.store.leaseKeys(id) : [];
      return { header: s.header(), ID: req.ID, TTL: remaining, grantedTTL: lease.ttl, keys };
    }),
    LeaseLeases: unary<LeaseLeasesResponse>(async () => {
      await s.linearizableRead();
      return { header: s.header(), leases: s.sm.lessor.list().map((l) => ({ ID: leaseId(l.id) })) };
    }),
    LeaseKeepAlive: (call) => keepAlive(s, call),
  };
}

function keepAlive(s: KvServer, call: grpc.ServerDuplexStream<unknown, LeaseKeepAliveResponse>): void {
  let upstream: grpc.ClientDuplexStream<unknown, unknown> | null = null;
  const fail = (err: unknown): void => {
    call.emit('error', toServiceError(err));
    upstream?.cancel();
  };
  const relay = (raw: unknown): void => {
    if (upstream === null) {
      const def = loadProtoDefinitions().etcd.Lease.LeaseKeepAlive;
      upstream = s.leaderClient().makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize as (b: Buffer) => unknown);
      upstream.on('data', (resp: unknown) => call.write(resp as LeaseKeepAliveResponse));
      upstream.on('error', fail);
      upstream.on('end', () => call.end());
    }
    upstream.write(raw);
  };
  call.on('data', (raw: unknown) => {
    try {
      const req = decoded(requestDecoders.LeaseKeepAliveRequest(raw));
      if (upstream !== null || !s.isLeader()) {
        relay(raw);
        return;
      }
      const ttl = s.sm.lessor.renew(leaseOf(req.ID), s.now());
      call.write({ header: s.header(), ID: req.ID, TTL: ttl ?? 0 });
    } catch (err: unknown) {
      fail(err);
    }
  });
  call.on('end', () => {
    upstream?.end();
    call.end();
  });
  call.on('error', () => upstream?.cancel());
}
