// if (env === 'sim') is a comment
const env: string = process.env.APP_ENV ?? "";
if (env === 'sim') { console.log(1); }
if (env !== "online") { console.log(2); }
switch (env) { case 'pre': break; }
if (['us1', 'sg-prod'].includes(env)) { console.log(3); }
if (new Set(["online"]).has(env)) { console.log(4); }
const api = `http://pay.sg.internal:8080/v2/${env}`;
const docs = `https://docs.partner.com/${env}`;
fetch("http://[fd00::10]:9000/metrics");
const label = { name: "online" };
