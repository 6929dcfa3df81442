import { SingleFieldForm } from '../../../components/single-field-form';
import { tracedAction } from '../../../lib/tracing';
import { createPost, type CreatedPost } from '../api/posts-api';

export function CreatePostForm({ onCreated }: { onCreated: (post: CreatedPost) => void }) {
  return (
    <section className="card create-post" aria-labelledby="create-post-heading">
      <h2 id="create-post-heading">New post</h2>
      <SingleFieldForm
        name="title"
        label="Title"
        placeholder="What is on your mind?"
        submitLabel="Publish"
        sendingLabel="Publishing…"
        service="posts"
        onSubmit={async (title, key) => onCreated(await tracedAction('publish post', () => createPost(title, key)))}
      />
    </section>
  );
}
