// TEST ONLY: the small TCP forwarder that netns.mjs starts inside each of a lab's namespaces
// (`ip netns exec NS node netns-bridge.mjs`), driven over the Node IPC channel. A process sits in one network
// namespace, but a socket keeps the namespace it was made in: a listening socket made by the test process (host
// namespace, 127.0.0.1) and sent here over IPC accepts there, while every connection this process opens is made in
// its own namespace. So the test process reaches the lab's services, and each browser's namespace reaches the hub
// across its veth pair, with the same URL (http://127.0.0.1:PORT) everywhere.
//
// Messages (each answered with {id, ok, ...} or {id, error}):
//   {op: 'forward', id, listen: {host, port} | (a net.Server sent as the handle), to: {host, port}}  → {port}
//   {op: 'reverse', id, key, listen: {host, port}}  accepts here and hands every connection (paused) to the parent
//     as {reverse: key} with the socket as the handle: the parent pipes it to a service of its own namespace
//   {op: 'udp', id, to: {host, port}, payloads: [base64, ...]}  sends the datagrams from this namespace
// It exits when the IPC channel closes (the test process ended, however it ended).
import net from 'node:net';
import dgram from 'node:dgram';

const servers = [];

function pipeBoth(a, to) {
  const b = net.connect(to);
  const kill = () => { a.destroy(); b.destroy(); };
  a.on('error', kill);
  b.on('error', kill);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

function forward(msg, handle) {
  return new Promise((resolve, reject) => {
    if (handle) {
      // a listening server made (and bound) by the parent in its namespace
      handle.on('connection', sock => pipeBoth(sock, msg.to));
      servers.push(handle);
      resolve({ port: handle.address().port });
      return;
    }
    const server = net.createServer(sock => pipeBoth(sock, msg.to));
    server.once('error', reject);
    server.listen(msg.listen.port, msg.listen.host, () => {
      servers.push(server);
      resolve({ port: server.address().port });
    });
  });
}

function reverse(msg) {
  return new Promise((resolve, reject) => {
    // sent with keepOpen false: this process's copy of the socket is closed once the parent has it
    const server = net.createServer({ pauseOnConnect: true }, sock => process.send({ reverse: msg.key }, sock));
    server.once('error', reject);
    server.listen(msg.listen.port, msg.listen.host, () => {
      servers.push(server);
      resolve({ port: server.address().port });
    });
  });
}

async function sendUdp(msg) {
  const sock = dgram.createSocket('udp4');
  try {
    for (const p of msg.payloads) {
      const b = Buffer.from(p, 'base64');
      await new Promise((resolve, reject) => sock.send(b, msg.to.port, msg.to.host, e => (e ? reject(e) : resolve())));
    }
  } finally {
    sock.close();
  }
  return { sent: msg.payloads.length };
}

process.on('message', async (msg, handle) => {
  try {
    let result;
    if (msg.op === 'forward') result = await forward(msg, handle);
    else if (msg.op === 'reverse') result = await reverse(msg);
    else if (msg.op === 'udp') result = await sendUdp(msg);
    else throw new Error(`unknown op ${msg.op}`);
    process.send({ id: msg.id, ok: true, ...result });
  } catch (e) {
    process.send({ id: msg.id, error: e.message });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
