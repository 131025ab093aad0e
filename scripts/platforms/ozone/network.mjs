// Starts a whole local Bluesky network (PLC, PDS, AppView, Bsync, Ozone) in this one Node
// process from @atproto/dev-env, bound to 127.0.0.1, and seeds Ozone's queue through the
// user-facing report API the Bluesky app uses. Run by ozone.sh, which reads the KEY=VALUE
// file this writes once the network is ready; SIGTERM closes every service cleanly.
//
// Environment: DB_POSTGRES_URL (required), MODQ_OZONE_ENV_FILE (where to write the values),
// MODQ_OZONE_PORT, MODQ_OZONE_PDS_PORT, MODQ_OZONE_PLC_PORT, MODQ_OZONE_APPVIEW_PORT (0 or
// unset: any free port).
import crypto from 'node:crypto'
import dns from 'node:dns'
import fs from 'node:fs'
import net from 'node:net'

// dev-env's servers call listen(port) with no host, which binds every interface. Nothing of a
// test network may be reachable from outside this machine: pin every listen to loopback.
const LOOPBACK = '127.0.0.1'
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (args.length === 0 || typeof args[0] === 'function') {
    args.unshift(0, LOOPBACK)
  } else if (typeof args[0] === 'number' || /^\d+$/.test(String(args[0]))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, LOOPBACK)
  } else if (typeof args[0] === 'object' && args[0] !== null && !('path' in args[0])) {
    args[0] = { ...args[0], host: args[0].host ?? LOOPBACK }
  }
  return listen.apply(this, args)
}
dns.setDefaultResultOrder('ipv4first')

// Shown raw, this would clear a terminal, retitle it, hide text and reverse what follows:
// the moderator's screen must show it inert.
const HOSTILE_TEXT =
  'free gift \u001b[2J\u001b[H\u001b]0;owned\u0007\u001b[8mhidden\u001b[0m ' +
  '\u202egnp.exe\u202c claim \u200b\u2066here\u2069 \u007f'

const envFile = process.env.MODQ_OZONE_ENV_FILE
if (!process.env.DB_POSTGRES_URL || !envFile) {
  console.error('network.mjs: DB_POSTGRES_URL and MODQ_OZONE_ENV_FILE are required')
  process.exit(2)
}
// TestNetwork asserts a Redis host although nothing here uses Redis.
process.env.REDIS_HOST ??= `${LOOPBACK}:6379`
process.env.DB_POSTGRES_SCHEMA ??= 'modq'

// A service config with `port: undefined` would override the port dev-env picked (it spreads
// the config after its own choice), so a port is only passed when one was asked for.
const port = (name) => {
  const value = Number(process.env[name] ?? 0)
  return Number.isInteger(value) && value > 0 ? { port: value } : {}
}
const password = () => crypto.randomBytes(18).toString('base64url')
const loopbackUrl = (url) => url.replace('//localhost:', `//${LOOPBACK}:`)

const { TestNetwork, ADMIN_PASSWORD } = await import('@atproto/dev-env')
const { AtpAgent } = await import('@atproto/api')

const network = await TestNetwork.create({
  plc: port('MODQ_OZONE_PLC_PORT'),
  pds: port('MODQ_OZONE_PDS_PORT'),
  bsky: port('MODQ_OZONE_APPVIEW_PORT'),
  ozone: port('MODQ_OZONE_PORT'),
})

let closing = false
const shutdown = async (signal) => {
  if (closing) return
  closing = true
  console.error(`network.mjs: ${signal}: closing the network`)
  try {
    await network.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))

const ozoneDid = network.ozone.ctx.cfg.service.did
const pdsUrl = network.pds.url

async function account(handle) {
  const agent = new AtpAgent({ service: pdsUrl })
  const secret = password()
  await agent.createAccount({ handle, email: `${handle}@modq.test`, password: secret })
  return { agent, handle, password: secret, did: agent.session.did }
}

// The moderation team: accounts on the PDS that Ozone knows by role.
const moderator = await account('moderator.test')
await network.ozone.addModeratorDid(moderator.did)
// A second full moderator: the one who takes down what is later appealed.
const senior = await account('senior.test')
await network.ozone.addModeratorDid(senior.did)
const triage = await account('triage.test')
await network.ozone.addTriageDid(triage.did)

// Users, posts, and reports made the way the Bluesky app makes them.
const alice = await account('alice.test')
const bob = await account('bob.test')
const mallory = await account('mallory.test')

// Profiles as the Bluesky app writes one at sign-up (the AppView's profile `createdAt`).
const SIGNED_UP = '2026-01-15T09:00:00.000Z'
for (const user of [alice, bob, mallory]) {
  await user.agent.com.atproto.repo.putRecord({
    repo: user.did,
    collection: 'app.bsky.actor.profile',
    rkey: 'self',
    record: { $type: 'app.bsky.actor.profile', displayName: user.handle, createdAt: SIGNED_UP },
  })
}

const fine = await alice.agent.post({ text: 'Morning all! Coffee meetup at 10?' })
const spam = await mallory.agent.post({ text: 'CHEAP FOLLOWERS!!! 10k for $5, DM me now' })
const abuse = await mallory.agent.post({ text: '@bob.test nobody wants you here, log off forever' })
const hostile = await mallory.agent.post({ text: HOSTILE_TEXT })
await network.processAll()

const reportAs = (user, subject, reasonType, reason) =>
  user.agent
    .withProxy('atproto_labeler', ozoneDid)
    .com.atproto.moderation.createReport({ reasonType, reason, subject })
const record = (post) => ({ $type: 'com.atproto.repo.strongRef', uri: post.uri, cid: post.cid })
const defs = 'com.atproto.moderation.defs'

await reportAs(alice, record(spam), `${defs}#reasonSpam`, 'selling followers')
await reportAs(bob, record(spam), `${defs}#reasonSpam`, 'spam again')
await reportAs(bob, record(abuse), `${defs}#reasonRude`, 'harassment aimed at me')
await reportAs(alice, record(hostile), `${defs}#reasonOther`, 'weird link \u202e looks like malware \u001b[31m')
await reportAs(
  alice,
  { $type: 'com.atproto.admin.defs#repoRef', did: mallory.did },
  `${defs}#reasonMisleading`,
  'keeps posting spam and abuse',
)
await network.processAll()

// A reply thread: alice starts it, bob answers, mallory's reply to bob is reported, and two
// replies follow it (one of them hostile text a terminal must show inert).
const reply = (parent, root) => ({
  parent: { uri: parent.uri, cid: parent.cid },
  root: { uri: root.uri, cid: root.cid },
})
const root = await alice.agent.post({ text: 'Who is coming to the meetup on Saturday?' })
const answer = await bob.agent.post({ text: 'Me! Bringing cake.', reply: reply(root, root) })
const rude = await mallory.agent.post({
  text: 'nobody wants your cake, stay home',
  reply: reply(answer, root),
})
const calm = await alice.agent.post({ text: 'That was uncalled for.', reply: reply(rude, root) })
const hostileReply = await bob.agent.post({ text: `reply ${HOSTILE_TEXT}`, reply: reply(rude, root) })
// A reply whose parent its author deleted: the reply still shows, without it.
const deleted = await bob.agent.post({ text: 'this post will be deleted' })
const orphan = await mallory.agent.post({ text: 'orphaned insult', reply: reply(deleted, deleted) })
await network.processAll()
await bob.agent.deletePost(deleted.uri)
await reportAs(alice, record(rude), `${defs}#reasonRude`, 'rude reply in the meetup thread')
await reportAs(alice, record(orphan), `${defs}#reasonRude`, 'rude reply')

// Appeals: posts a moderator (senior) takes down, which their author appeals through her
// own PDS as the Bluesky app does (createReport with reasonAppeal on her own post).
const moderatorProxy = (user) => user.agent.withProxy('atproto_labeler', ozoneDid)
const appealed = []
for (const text of ['my review of the new cafe: terrible coffee', 'the cafe owner is a fraud']) {
  const post = await mallory.agent.post({ text })
  await reportAs(alice, record(post), `${defs}#reasonMisleading`, 'misleading')
  await moderatorProxy(senior).tools.ozone.moderation.emitEvent({
    event: { $type: 'tools.ozone.moderation.defs#modEventTakedown', comment: 'misleading claims' },
    subject: record(post),
    createdBy: senior.did,
  })
  await reportAs(mallory, record(post), `${defs}#reasonAppeal`, 'this was my honest opinion, please restore it')
  appealed.push(post)
}
await network.processAll()

const values = {
  OZONE_URL: loopbackUrl(network.ozone.url),
  OZONE_DID: ozoneDid,
  OZONE_PDS_URL: loopbackUrl(pdsUrl),
  OZONE_PLC_URL: loopbackUrl(network.plc.url),
  OZONE_APPVIEW_URL: loopbackUrl(network.bsky.url),
  OZONE_ADMIN_USER: 'admin',
  OZONE_ADMIN_PASSWORD: ADMIN_PASSWORD,
  OZONE_MODERATOR_HANDLE: moderator.handle,
  OZONE_MODERATOR_PASSWORD: moderator.password,
  OZONE_MODERATOR_DID: moderator.did,
  OZONE_SENIOR_HANDLE: senior.handle,
  OZONE_SENIOR_PASSWORD: senior.password,
  OZONE_SENIOR_DID: senior.did,
  OZONE_TRIAGE_HANDLE: triage.handle,
  OZONE_TRIAGE_PASSWORD: triage.password,
  OZONE_TRIAGE_DID: triage.did,
  OZONE_REPORTER_HANDLE: alice.handle,
  OZONE_REPORTER_PASSWORD: alice.password,
  OZONE_REPORTER_DID: alice.did,
  OZONE_OFFENDER_HANDLE: mallory.handle,
  OZONE_OFFENDER_DID: mallory.did,
  OZONE_REPORTED_URIS: [spam.uri, abuse.uri, hostile.uri].join(','),
  OZONE_SPAM_URI: spam.uri,
  OZONE_SPAM_CID: spam.cid,
  OZONE_ABUSE_URI: abuse.uri,
  OZONE_ABUSE_CID: abuse.cid,
  OZONE_HOSTILE_URI: hostile.uri,
  OZONE_HOSTILE_CID: hostile.cid,
  OZONE_UNREPORTED_URI: fine.uri,
  OZONE_REPORTED_ACCOUNT_DID: mallory.did,
  OZONE_SIGNED_UP: SIGNED_UP,
  OZONE_THREAD_ROOT_URI: root.uri,
  OZONE_THREAD_PARENT_URI: answer.uri,
  OZONE_THREAD_REPLY_URI: rude.uri,
  OZONE_THREAD_AFTER_URIS: [calm.uri, hostileReply.uri].join(','),
  OZONE_ORPHAN_URI: orphan.uri,
  OZONE_DELETED_PARENT_URI: deleted.uri,
  OZONE_APPEAL_UPHOLD_URI: appealed[0].uri,
  OZONE_APPEAL_OVERTURN_URI: appealed[1].uri,
  OZONE_REPORTS: '11',
  OZONE_PID: String(process.pid),
}
const text = Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('')
fs.writeFileSync(`${envFile}.tmp`, text, { mode: 0o600 })
fs.renameSync(`${envFile}.tmp`, envFile)
console.error('network.mjs: ready')
