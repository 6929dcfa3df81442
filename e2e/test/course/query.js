// The course's query service (query/index.js), as a student writes it: plain Express, the posts in
// memory, one event per POST /events as `{ type, data }`, and every stored event read from the bus
// at start. Changed only where the course hard-codes its cluster: the port, the bus's URL and the
// credential file come from the env (PORT, BUS_URL, CREDENTIAL_FILE), since the bus asks a reader
// who it is (`npm start` names the file when EXTRA_SUBSCRIBERS lists this service).
const { readFileSync } = require('node:fs');
const express = require('express');

const app = express();
app.use(express.json());

const posts = {};

const handleEvent = (type, data) => {
  if (type === 'PostCreated') {
    const { id, title } = data;
    posts[id] = { id, title, comments: [] };
  }
  if (type === 'CommentCreated') {
    const { id, content, postId, status } = data;
    const post = posts[postId];
    post.comments.push({ id, content, status });
  }
  if (type === 'CommentUpdated') {
    const { id, content, postId, status } = data;
    const post = posts[postId];
    const comment = post.comments.find((comment) => comment.id === id);
    comment.status = status;
    comment.content = content;
  }
};

app.get('/posts', (req, res) => {
  res.send(posts);
});

app.post('/events', (req, res) => {
  const { type, data } = req.body;
  handleEvent(type, data);
  res.send({});
});

app.listen(Number(process.env.PORT), '127.0.0.1', async () => {
  const token = readFileSync(process.env.CREDENTIAL_FILE, 'utf8').split('\n')[0];
  const res = await fetch(`${process.env.BUS_URL}/events`, { headers: { authorization: `Bearer ${token}` } });
  for (const event of await res.json()) handleEvent(event.type, event.data);
});
