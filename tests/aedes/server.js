// An aedes MQTT broker for the integration tests, because Debian's
// mosquitto is built without WebSocket support. One broker instance serves
// every listener, so a client on WebSocket and one on TCP share sessions and
// subscriptions. Everything binds to 127.0.0.1.
//
//   node server.js --port P --ws-port W
//                  [--wss-port S --cert server.pem --key server.key]
//                  [--require-header NAME=VALUE]
//
// WebSocket upgrades are accepted on the path /mqtt only (what clients use
// by default); any other path gets HTTP 404, so a client sending the wrong
// path fails visibly instead of working by accident. When a client offers
// the `mqtt` subprotocol it is selected. With --require-header, an upgrade
// without that exact header value gets HTTP 401, which stands in for brokers
// that authenticate the upgrade request. aedes writes each MQTT packet in
// several pieces and each becomes its own WebSocket frame, so clients get
// packets split across frames (which MQTT over WebSocket allows).
//
// Stdout gets one line per client connect and disconnect, and `ready` once
// all listeners are bound (the Rust harness waits for every port to accept
// TCP instead, as it does for mosquitto).
'use strict'

const fs = require('fs')
const http = require('http')
const https = require('https')
const net = require('net')
const { WebSocketServer, createWebSocketStream } = require('ws')
const aedes = require('aedes')()

const HOST = '127.0.0.1'
const PATH = '/mqtt'

function parseArgs (argv) {
  const args = {}
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]
    const value = argv[i + 1]
    if (!name.startsWith('--') || value === undefined) {
      fail(`bad arguments near ${name}`)
    }
    args[name.slice(2)] = value
  }
  return args
}

function fail (message) {
  console.log(`error: ${message}`)
  process.exit(1)
}

const args = parseArgs(process.argv.slice(2))
if (!args.port || !args['ws-port']) fail('--port and --ws-port are required')
const wantTls = Boolean(args['wss-port'] || args.cert || args.key)
if (wantTls && !(args['wss-port'] && args.cert && args.key)) {
  fail('--wss-port, --cert and --key go together')
}
let requiredHeader = null
if (args['require-header']) {
  const eq = args['require-header'].indexOf('=')
  if (eq <= 0) fail('--require-header takes NAME=VALUE')
  requiredHeader = {
    // Node lower-cases incoming header names.
    name: args['require-header'].slice(0, eq).toLowerCase(),
    value: args['require-header'].slice(eq + 1)
  }
}

aedes.on('client', (client) => console.log(`client connected: ${client.id}`))
aedes.on('clientDisconnect', (client) => console.log(`client disconnected: ${client.id}`))
aedes.on('clientError', (client, err) => console.log(`client error: ${client.id}: ${err.message}`))

const wss = new WebSocketServer({
  noServer: true,
  handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false)
})
wss.on('connection', (socket, request) => {
  // aedes speaks to byte streams; binary frames in, binary frames out.
  aedes.handle(createWebSocketStream(socket), request)
})

function refuse (socket, status, reason) {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function onUpgrade (request, socket, head) {
  const path = new URL(request.url, 'http://localhost').pathname
  if (path !== PATH) return refuse(socket, 404, 'Not Found')
  if (requiredHeader && request.headers[requiredHeader.name] !== requiredHeader.value) {
    return refuse(socket, 401, 'Unauthorized')
  }
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
}

function onPlainRequest (request, response) {
  response.writeHead(426, { Upgrade: 'websocket' })
  response.end()
}

const servers = [
  ['mqtt', args.port, net.createServer(aedes.handle)],
  ['ws', args['ws-port'], http.createServer(onPlainRequest)]
]
if (wantTls) {
  const options = { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }
  servers.push(['wss', args['wss-port'], https.createServer(options, onPlainRequest)])
}

let pending = servers.length
for (const [name, port, server] of servers) {
  if (name !== 'mqtt') server.on('upgrade', onUpgrade)
  // A port taken between the harness's probe and our bind: exit so the
  // harness retries on fresh ports.
  server.on('error', (err) => fail(`${name} listener on ${port}: ${err.message}`))
  server.listen(Number(port), HOST, () => {
    console.log(`${name} listening on ${HOST}:${port}`)
    if (--pending === 0) console.log('ready')
  })
}

process.on('SIGTERM', () => {
  console.log('stopping')
  aedes.close(() => process.exit(0))
})
