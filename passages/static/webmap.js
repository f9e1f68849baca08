(function () {
  var notice = document.getElementById('passages-offline');
  if (notice) { notice.remove(); }
  var map = __MAP__, control = __CONTROL__, bases = [__BASES__], groups = {__GROUPS__};
  var D = JSON.parse(document.getElementById('passages-data').textContent), S = D.style;
  function ids(d) {  // delta-encoded edge indices
    var out = [], s = 0;
    for (var i = 0; i < d.length; i++) { s += d[i]; out.push(s); }
    return out;
  }
  function lines(d) { return ids(d).map(function (i) { return D.edges[i]; }); }
  [['ppBase', 350], ['ppArea', 355], ['ppRisk', 360], ['ppRoutes', 370], ['ppCorr', 380], ['ppHi', 390],
   ['ppPosts', 650]].forEach(function (p) { map.createPane(p[0]).style.zIndex = p[1]; });
  L.polyline(D.edges, {pane: 'ppBase', color: '#9a9a9a', weight: 1, opacity: 0.8, interactive: false})
    .addTo(groups.base);
  var hi = L.layerGroup().addTo(map);
  function highlight(list, colour) {
    hi.clearLayers();
    if (list.length) {
      L.polyline(lines(list), {pane: 'ppHi', color: colour, weight: 5, opacity: 0.9, interactive: false})
        .addTo(hi);
    }
  }
  function withHighlight(layer, list, colour) {
    layer.on('popupopen', function () { highlight(list, colour); });
    layer.on('popupclose', function () { hi.clearLayers(); });
    return layer;
  }
  function build(w) {
    var g = {}, t;
    ['risk', 'routes', 'corridors', 'places', 'posts'].forEach(function (k) { g[k] = L.layerGroup(); });
    w.risk.forEach(function (list, c) {
      if (list.length) {
        L.polyline(lines(list), {pane: 'ppRisk', color: S.risk[c], weight: 3, opacity: 0.95,
                                 interactive: false}).addTo(g.risk);
      }
    });
    if (w.routes.length) {
      L.polyline(lines(w.routes), {pane: 'ppRoutes', color: S.route, weight: 2, dashArray: '5 4',
                                   interactive: false}).addTo(g.routes);
    }
    w.corridors.forEach(function (c) {
      c.e.forEach(function (list, k) {
        if (list.length) {
          L.polyline(lines(list), {pane: 'ppCorr', color: S.corridor, weight: S.widths[k], opacity: 1})
            .bindPopup(c.p).addTo(g.corridors);
        }
      });
    });
    w.places.forEach(function (p) {
      var sym = S.kinds[p.k], m;
      if (p.a >= 0) {
        L.polygon(D.areas[p.a], {pane: 'ppArea', color: sym[1], weight: 1, fillOpacity: 0.18,
                                 interactive: false}).addTo(g.places);
      }
      if (sym[0] === 'circle') {
        m = L.circleMarker(p.ll, {radius: 6, color: '#fff', weight: 2, fillColor: sym[1], fillOpacity: 1});
      } else {
        m = L.marker(p.ll, {icon: L.divIcon({className: 'pp-sym-icon', html: sym[2], iconSize: [16, 16]})});
      }
      withHighlight(m.bindPopup(p.p, {maxWidth: 320}), p.r, '#111').addTo(g.places);
    });
    w.posts.forEach(function (p) {
      t = L.marker(p.ll, {pane: 'ppPosts', icon: L.divIcon({className: 'pp-post-icon', html: '<span>' + p.n +
        '</span>', iconSize: [26, 26]}), title: 'Post ' + p.n});
      withHighlight(t.bindPopup(p.p, {maxWidth: 340}), p.c, '#00b3b3').addTo(g.posts);
    });
    return g;
  }
  var built = [], current = -1;
  function show(i) {
    if (i === current) { return; }
    current = i;
    built[i] = built[i] || build(D.windows[i]);
    ['risk', 'routes', 'corridors', 'places', 'posts'].forEach(function (k) {
      groups[k].clearLayers();
      groups[k].addLayer(built[i][k]);
    });
    hi.clearLayers();
    map.closePopup();
    var when = document.getElementById('pp-when');
    if (when) { when.innerHTML = D.windows[i].label + ' · ' + D.windows[i].when; }
  }
  if (groups.incidents && D.incidents) {
    L.layerGroup(D.incidents.map(function (ll) {
      return L.circleMarker(ll, {radius: 2, color: '#333', weight: 0, fillOpacity: 0.7, interactive: false});
    })).addTo(groups.incidents);
  }
  function boxControl(id, position) {
    var src = document.getElementById(id), c = L.control({position: position});
    c.onAdd = function () { src.hidden = false; L.DomEvent.disableClickPropagation(src); return src; };
    return c.addTo(map);
  }
  boxControl('pp-title-src', 'topleft');
  boxControl('pp-legend-src', 'bottomright');
  if (window.innerWidth < 600) {
    document.querySelector('#pp-legend-src details').open = false;
    control.collapse();
  }
  var box = control.getContainer();
  [['.leaflet-control-layers-base', 'Time window'], ['.leaflet-control-layers-overlays', 'Show']]
    .forEach(function (h) {
      var list = box.querySelector(h[0]), head = document.createElement('div');
      head.className = 'pp-lc-head'; head.textContent = h[1];
      list.parentNode.insertBefore(head, list);
    });
  map.attributionControl.addAttribution(D.attribution);
  map.on('baselayerchange', function (e) { var i = bases.indexOf(e.layer); if (i >= 0) { show(i); } });
  if (D.windows.length) { show(0); }
})();
