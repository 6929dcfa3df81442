// What the app may use of posts.
export { PostsPage } from './components/posts-page';
