// What other features may use of comments.
export { CommentForm } from './components/comment-form';
export { CommentList } from './components/comment-list';
