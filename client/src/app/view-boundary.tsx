import { Component, type ReactNode } from 'react';

/**
 * Where a view that is loaded when first shown could not be loaded (the network failed, or a new
 * version of the app replaced the file this page names): a notice in place of the view, the rest
 * of the app still working. Keyed by the path, so another view starts afresh.
 */
export class ViewBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render() {
    if (!this.state.failed) return this.props.children;
    return (
      <p className="notice" role="alert">
        This view could not be loaded. Reload the page to try again.
      </p>
    );
  }
}
