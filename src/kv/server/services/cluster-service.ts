/**
 * cluster-service: etcdserverpb.Cluster — the member list and single-server membership
 * changes driven through the Raft core (learner, promotion once in sync, removal).
 */
import { nodeId, type NodeId } from '../../../raft/index.js';
import { requestDecoders } from '../../proto/index.js';
import type { ClusterHandlers, Member, MemberAddResponse, MembersResponse } from '../../proto/index.js';
import type { KvServer } from '../kv-server.js';
import { etcdError } from '../errors.js';
import { encodeMemberContext, type MemberInfo } from '../members.js';
import { memberId } from '../../member/config.js';
import { decoded, unary } from './common.js';
import { mapProposalError } from '../kv-server.js';

function memberOut(m: MemberInfo): Member {
  return { ID: String(m.id), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}

function idOf(id: string): NodeId {
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) throw etcdError('member-not-found');
  return nodeId(n);
}

/** clusterService builds the Cluster handlers of a member. */
export function clusterService(s: KvServer, token: string): ClusterHandlers {
  const list = (): Member[] => s.sm.members.list().map(memberOut);
  const change = async (cc: Parameters<KvServer['driver']['proposeConfChange']>[0]): Promise<void> => {
    try {
      await s.driver.proposeConfChange(cc);
    } catch (err: unknown) {
      throw mapProposalError(err);
    }
  };
  return {
    MemberList: unary<MembersResponse>(async (raw) => {
      decoded(requestDecoders.MemberListRequest(raw));
      await s.linearizableRead();
      return { header: s.header(), members: list() };
    }),
    MemberAdd: unary<MemberAddResponse>(async (raw) => {
      const req = decoded(requestDecoders.MemberAddRequest(raw));
      if (req.peerURLs.length === 0) throw etcdError('invalid-argument', 'member add needs at least one peer URL');
      if (!s.isLeader()) return (await s.forward('Cluster', 'MemberAdd', raw)) as MemberAddResponse;
      const taken = new Set(s.sm.members.list().flatMap((m) => m.peerURLs));
      if (req.peerURLs.some((u) => taken.has(u))) throw etcdError('peer-url-exists');
      const id = memberId(req.peerURLs, `${token}/${Date.now()}`);
      const context = encodeMemberContext({ name: '', peerURLs: req.peerURLs, clientURLs: [] });
      await change({ type: req.isLearner ? 'add-learner' : 'add-voter', nodeId: id, context });
      const m = s.sm.members.get(id);
      return { header: s.header(), ...(m === undefined ? {} : { member: memberOut(m) }), members: list() };
    }),
    MemberRemove: unary<MembersResponse>(async (raw) => {
      const req = decoded(requestDecoders.MemberRemoveRequest(raw));
      if (!s.isLeader()) return (await s.forward('Cluster', 'MemberRemove', raw)) as MembersResponse;
      const id = idOf(req.ID);
      if (s.sm.members.get(id) === undefined) throw etcdError('member-not-found');
      await change({ type: 'remove', nodeId: id });
      return { header: s.header(), members: list() };
    }),
    MemberUpdate: unary<MembersResponse>(async (raw) => {
      const req = decoded(requestDecoders.MemberUpdateRequest(raw));
      if (!s.isLeader()) return (await s.forward('Cluster', 'MemberUpdate', raw)) as MembersResponse;
      const id = idOf(req.ID);
      const m = s.sm.members.get(id);
      if (m === undefined) throw etcdError('member-not-found');
      const r = await s.submitMemberUpdate(id, req.peerURLs);
      if (r.kind === 'error') throw etcdError('internal', r.error.message);
      return { header: s.header(), members: list() };
    }),
    MemberPromote: unary<MembersResponse>(async (raw) => {
      const req = decoded(requestDecoders.MemberPromoteRequest(raw));
      if (!s.isLeader()) return (await s.forward('Cluster', 'MemberPromote', raw)) as MembersResponse;
      const id = idOf(req.ID);
      const m = s.sm.members.get(id);
      if (m === undefined) throw etcdError('member-not-found');
      if (!m.isLearner) throw etcdError('member-not-learner');
      const st = s.driver.status();
      const match = s.driver.node.matchOf(id) ?? 0;
      // etcd's rule: a learner is ready once it holds 90% of the leader's log.
      if (match < st.lastIndex * 0.9) throw etcdError('learner-not-ready');
      await change({ type: 'promote', nodeId: id });
      return { header: s.header(), members: list() };
    }),
  };
}
