// Requests to TARGET at a steady pace for far longer than any test waits:
// only a stop ends it early.
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  vus: 1,
  duration: '10m',
};

export default function () {
  http.get(__ENV.TARGET, { tags: { endpoint: 'ping' } });
  sleep(0.05);
}
