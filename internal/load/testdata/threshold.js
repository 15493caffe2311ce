// One request to TARGET and a threshold it cannot meet: k6 exits 99.
import http from 'k6/http';

export const options = {
  iterations: 1,
  thresholds: { http_reqs: ['count<1'] },
};

export default function () {
  http.get(__ENV.TARGET, { tags: { endpoint: 'ping' } });
}
