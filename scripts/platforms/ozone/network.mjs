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
const triage = await account('triage.test')
await network.ozone.addTriageDid(triage.did)

// Users, posts, and reports made the way the Bluesky app makes them.
const alice = await account('alice.test')
const bob = await account('bob.test')
const mallory = await account('mallory.test')

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
  OZONE_REPORTS: '5',
  OZONE_PID: String(process.pid),
}
const text = Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('')
fs.writeFileSync(`${envFile}.tmp`, text, { mode: 0o600 })
fs.renameSync(`${envFile}.tmp`, envFile)
console.error('network.mjs: ready')
