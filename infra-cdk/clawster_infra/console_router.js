// CloudFront Function (cloudfront-js-2.0), viewer request, of the web console's distribution.
// The console is a single-page app under /console/ that routes with the History API: a deep link such as
// /console/workspaces/ws_1/fleets/f_2 is a page of the app, not a file, so it is answered with index.html.
// Files (index.html, config.json, assets/*) have an extension in their last segment and pass unchanged.
// tests/infra/test_cdk.py runs this file with node.
var BASE = '/console/';

function redirect(location) {
  return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: location } } };
}

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === '/' || uri === '/console') {
    return redirect(BASE);
  }
  if (uri.indexOf(BASE) === 0) {
    var last = uri.substring(uri.lastIndexOf('/') + 1);
    if (last.indexOf('.') === -1) {
      request.uri = BASE + 'index.html';
    }
  }
  return request;
}
