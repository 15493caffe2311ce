// A script whose init takes long (a busy loop of INIT_MS): a stop asked for
// meanwhile finds no REST API yet and falls back to a signal.
console.log('init started');
const until = Date.now() + Number(__ENV.INIT_MS || 60000);
while (Date.now() < until) {
  // busy: init code cannot sleep
}

export default function () {}
