fetch("/console/config.json").then((r) => r.json()).then((c) => { document.getElementById("root").textContent = c.apiUrl; });
