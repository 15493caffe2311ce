// The benchmark's script: VUS virtual users requesting TARGET as fast as
// they can (or pausing PAUSE seconds between requests) for DURATION.
import http from 'k6/http';
import { sleep } from 'k6';

const pause = Number(__ENV.PAUSE || 0);

export const options = {
  vus: Number(__ENV.VUS || 1),
  duration: __ENV.DURATION || '5s',
  discardResponseBodies: true,
};

export default function () {
  http.get(__ENV.TARGET, { tags: { endpoint: 'bench' } });
  if (pause > 0) sleep(pause);
}
